"""Small HTTP and client helpers for the fake forge's own tests."""

from __future__ import annotations

import functools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import gitlab
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github

from tests.fakeforge import FakeForge

TOKEN = "test-token"
OTHER_TOKEN = "other-token"
REPO = "acme/app"
SEED_FILES = {
    "README.md": "# app\n",
    "k8s/deploy.yaml": "kind: Deployment\n",
    "k8s/base/service.yaml": "kind: Service\n",
}


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    gitlab_token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> HttpResult:
    """One plain urllib request; HTTP errors are results, not exceptions."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"token {token}"
    if gitlab_token is not None:
        all_headers["PRIVATE-TOKEN"] = gitlab_token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if not url.startswith("http://127.0.0.1:") and not url.startswith("http://localhost:"):
        raise ValueError(f"only the local fake forge is contacted, not {url}")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return HttpResult(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return HttpResult(
            error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
        )


def seeded(forge: FakeForge) -> str:
    """Create the standard repository and token; returns the head sha of main."""
    forge.add_token(TOKEN)
    return forge.create_repo(REPO, SEED_FILES)


def github_client(forge: FakeForge, token: str = TOKEN) -> Github:
    return Github(
        base_url=forge.github_api_url,
        auth=Auth.Token(token),
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
    )


def gitlab_client(forge: FakeForge, token: str = TOKEN) -> gitlab.Gitlab:
    return gitlab.Gitlab(forge.gitlab_url, private_token=token, retry_transient_errors=False)


APP_ID = 4242
INSTALLATION_ID = 77


@functools.cache
def app_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def app_public_pem() -> bytes:
    return (
        app_private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def app_private_pem() -> str:
    return (
        app_private_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def app_jwt(*, iat_offset: int = -60, exp_offset: int = 300, app_id: int = APP_ID) -> str:
    now = int(time.time())
    claims = {"iat": now + iat_offset, "exp": now + exp_offset, "iss": str(app_id)}
    return jwt.encode(claims, app_private_key(), algorithm="RS256")


def installation_token(forge: FakeForge, repos: tuple[str, ...] = (REPO,)) -> str:
    """Register the test App, install it on `repos`, and mint a token over HTTP."""
    forge.register_app(APP_ID, app_public_pem())
    forge.add_installation(INSTALLATION_ID, repos)
    result = http(
        "POST",
        f"{forge.github_api_url}/app/installations/{INSTALLATION_ID}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt()}"},
    )
    assert result.status == 201, result.body
    token: str = result.json()["token"]
    return token
