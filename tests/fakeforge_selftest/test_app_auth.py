"""GitHub App authentication: RS256 JWTs, installation lookup, minted tokens and their expiry."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, BadCredentialsException, Github, GithubIntegration, UnknownObjectException

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import (
    APP_ID,
    INSTALLATION_ID,
    REPO,
    app_jwt,
    app_private_pem,
    app_public_pem,
    github_client,
    http,
    installation_token,
    seeded,
)


def install(forge: FakeForge) -> None:
    seeded(forge)
    forge.create_repo("acme/elsewhere", {"x": "y"})
    forge.register_app(APP_ID, app_public_pem())
    forge.add_installation(INSTALLATION_ID, [REPO])


def test_pygithub_app_auth_finds_the_installation_and_mints_a_working_token(
    fake_forge: FakeForge,
) -> None:
    install(fake_forge)
    integration = GithubIntegration(
        auth=Auth.AppAuth(APP_ID, app_private_pem()), base_url=fake_forge.github_api_url
    )
    installation = integration.get_repo_installation("acme", "app")
    assert installation.id == INSTALLATION_ID
    token = integration.get_access_token(INSTALLATION_ID)
    assert token.token.startswith("ghs_")
    assert token.expires_at is not None
    client = github_client(fake_forge, token.token)
    assert client.get_repo(REPO).full_name == REPO
    with pytest.raises(UnknownObjectException):
        client.get_repo("acme/elsewhere")  # not part of the installation


def test_installation_auth_mints_lazily_through_the_client(fake_forge: FakeForge) -> None:
    install(fake_forge)
    app_auth = Auth.AppAuth(APP_ID, app_private_pem())
    client = Github(
        base_url=fake_forge.github_api_url,
        auth=app_auth.get_installation_auth(INSTALLATION_ID),
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
    )
    assert client.get_repo(REPO).default_branch == "main"
    assert ("POST", f"/api/v3/app/installations/{INSTALLATION_ID}/access_tokens") in (
        fake_forge.requests
    )


def test_expired_installation_tokens_answer_401(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    token = installation_token(fake_forge)
    client = github_client(fake_forge, token)
    assert client.get_repo(REPO).full_name == REPO
    fake_forge.expire_tokens()
    with pytest.raises(BadCredentialsException):
        github_client(fake_forge, token).get_repo(REPO)


@pytest.mark.parametrize(
    ("iat_offset", "exp_offset"),
    [
        (-700, -100),  # expired
        (300, 500),  # issued in the future
        (-60, 3600),  # lives far longer than GitHub allows
    ],
)
def test_jwts_with_bad_times_are_refused(
    fake_forge: FakeForge, iat_offset: int, exp_offset: int
) -> None:
    install(fake_forge)
    result = http(
        "POST",
        f"{fake_forge.github_api_url}/app/installations/{INSTALLATION_ID}/access_tokens",
        headers={
            "Authorization": f"Bearer {app_jwt(iat_offset=iat_offset, exp_offset=exp_offset)}"
        },
    )
    assert result.status == 401


def test_a_jwt_signed_by_another_key_or_for_another_app_is_refused(fake_forge: FakeForge) -> None:
    install(fake_forge)
    url = f"{fake_forge.github_api_url}/app/installations/{INSTALLATION_ID}/access_tokens"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = Auth.AppAuth(
        APP_ID,
        stranger.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    ).create_jwt()
    assert http("POST", url, headers={"Authorization": f"Bearer {forged}"}).status == 401
    unknown_app = app_jwt(app_id=APP_ID + 1)
    assert http("POST", url, headers={"Authorization": f"Bearer {unknown_app}"}).status == 401


def test_jwts_and_installation_tokens_stay_on_their_side(fake_forge: FakeForge) -> None:
    install(fake_forge)
    jwt_header = {"Authorization": f"Bearer {app_jwt()}"}
    repo_url = f"{fake_forge.github_api_url}/repos/{REPO}"
    assert http("GET", repo_url, headers=jwt_header).status == 403
    assert http("GET", f"{repo_url}/installation", headers=jwt_header).json()["id"] == (
        INSTALLATION_ID
    )
    token = installation_token(fake_forge)
    assert http("GET", f"{repo_url}/installation", token=token).status == 401
    missing = http(
        "GET", f"{fake_forge.github_api_url}/repos/acme/elsewhere/installation", headers=jwt_header
    )
    assert missing.status == 404
