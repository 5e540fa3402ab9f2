"""GitHub App credentials: the JWT, the token cache, 401 refresh, and the PyGithub auth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey
from workers.forge.base import PermissionDenied, RepoRef
from workers.forge.github import GitHubForge
from workers.forge.github_auth import (
    JWT_LIFETIME,
    TOKEN_REFRESH_MARGIN,
    CountingTokenAuth,
    app_jwt,
)

APP_ID = 4242
INSTALLATION = 77
REPO = "acme/deploys"


class Clock:
    """A clock the test moves; starts at the real time because the fake mints real expiries."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    key = AppKey.generate()
    return key.private_pem.encode(), key.public_pem


@pytest.fixture
def app_forge(
    fake_forge: FakeForge, key_pair: tuple[bytes, bytes]
) -> Iterator[tuple[FakeForge, GitHubForge, Clock]]:
    private, public = key_pair
    fake_forge.create_repo(REPO, {"README.md": "hello\n"})
    fake_forge.register_app(APP_ID, public)
    fake_forge.add_installation(INSTALLATION, [REPO])
    clock = Clock()
    forge = GitHubForge(
        base_url=fake_forge.github_api_url,
        app_id=APP_ID,
        private_key=private.decode(),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
        clock=clock,
    )
    fake_forge.reset_requests()
    yield fake_forge, forge, clock


def mints(fake: FakeForge) -> int:
    return sum(1 for method, path in fake.requests if path.endswith("/access_tokens"))


def test_app_jwt_is_rs256_signed_short_lived_and_names_the_app(
    key_pair: tuple[bytes, bytes],
) -> None:
    private, public = key_pair
    now = datetime.now(UTC)
    token = app_jwt(APP_ID, private, now)
    claims = jwt.decode(token, public, algorithms=["RS256"])
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] < now.timestamp()  # backdated for clock drift
    assert claims["exp"] == int((now + JWT_LIFETIME).timestamp())
    assert claims["exp"] - claims["iat"] <= 600


def test_counting_auth_counts_each_request_and_masks_the_token_for_logs() -> None:
    calls: list[None] = []
    auth = CountingTokenAuth(lambda: "ghs_secret", lambda: calls.append(None))
    headers: dict[str, str] = {}
    auth.authentication(headers)
    auth.authentication(headers)
    assert headers["Authorization"] == "token ghs_secret"
    assert len(calls) == 2
    auth.mask_authentication(headers)
    assert "ghs_secret" not in headers["Authorization"]


def test_installation_found_by_repository_and_token_reused(
    app_forge: tuple[FakeForge, GitHubForge, Clock],
) -> None:
    fake, forge, _ = app_forge
    repo = RepoRef("github", REPO)  # no installation id: looked up once
    forge.default_branch(repo)
    forge.default_branch(repo)
    assert mints(fake) == 1
    lookups = [p for m, p in fake.requests if p.endswith(f"/repos/{REPO}/installation")]
    assert len(lookups) == 1
    assert forge.api_calls == len(fake.requests)


def test_token_refreshed_shortly_before_expiry(
    app_forge: tuple[FakeForge, GitHubForge, Clock],
) -> None:
    fake, forge, clock = app_forge
    repo = RepoRef("github", REPO, INSTALLATION)
    forge.branch_head(repo, "main")
    clock.now += timedelta(hours=1) - TOKEN_REFRESH_MARGIN - timedelta(seconds=30)
    forge.branch_head(repo, "main")
    assert mints(fake) == 1  # still fresh
    clock.now += timedelta(seconds=31)
    forge.branch_head(repo, "main")
    assert mints(fake) == 2


def test_refused_token_is_replaced_once_on_401(
    app_forge: tuple[FakeForge, GitHubForge, Clock],
) -> None:
    fake, forge, _ = app_forge
    repo = RepoRef("github", REPO, INSTALLATION)
    assert forge.branch_head(repo, "main") is not None
    fake.expire_tokens()
    assert forge.branch_head(repo, "main") is not None
    assert mints(fake) == 2
    assert forge.api_calls == len(fake.requests)


def test_persistent_401_is_permission_denied_not_a_loop(
    app_forge: tuple[FakeForge, GitHubForge, Clock],
) -> None:
    fake, forge, _ = app_forge
    repo = RepoRef("github", REPO, INSTALLATION)
    forge.branch_head(repo, "main")
    calls_before = forge.api_calls
    fake.reset_requests()
    fake.fail_next(10, 401, body='{"message": "Bad credentials"}')
    with pytest.raises(PermissionDenied):
        forge.branch_head(repo, "main")
    # the refused request and one attempt to mint a new token; nothing more
    assert len(fake.requests) == 2
    assert forge.api_calls - calls_before == 2


def test_plain_token_for_cli_use(fake_forge: FakeForge, tmp_path: Path) -> None:
    fake_forge.create_repo(REPO, {"a.txt": "a"})
    fake_forge.add_token("ghp_cli_token")
    forge = GitHubForge(
        base_url=fake_forge.github_api_url,
        token="ghp_cli_token",
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    assert forge.default_branch(RepoRef("github", REPO))[0] == "main"


def test_bad_plain_token_is_permission_denied(fake_forge: FakeForge) -> None:
    fake_forge.create_repo(REPO, {"a.txt": "a"})
    forge = GitHubForge(
        base_url=fake_forge.github_api_url,
        token="ghp_wrong",
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    with pytest.raises(PermissionDenied) as raised:
        forge.default_branch(RepoRef("github", REPO))
    assert "ghp_wrong" not in str(raised.value)


def test_constructor_wants_exactly_one_kind_of_credentials() -> None:
    with pytest.raises(ValueError):
        GitHubForge()
    with pytest.raises(ValueError):
        GitHubForge(token="t", app_id=1, private_key="k")
