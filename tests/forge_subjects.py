"""Both forge adapters wired to the local fake forge, behind one `subject` fixture (a plugin
registered in tests/conftest.py, so any test package can use it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey
from workers.forge.base import RepoRef
from workers.forge.github import GitHubForge
from workers.forge.gitlab import GitLabForge

APP_ID = 31337
INSTALLATION_ID = 9001
GITLAB_TOKEN = "glpat-contract-secret-token"
REPO = "acme/deploys"
FORGES = ("github", "gitlab")
# One Pod without `imagePullPolicy`: one finding, so a scan of it opens a pull request.
POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a:1}]\n"
)

Adapter = GitHubForge | GitLabForge


class MovableClock:
    """Starts at the real time (the fake mints real expiry times); tests move it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def app_key() -> AppKey:
    return AppKey.generate()


@dataclass
class Subject:
    """One adapter talking to the fake, plus what tests need to set up and inspect."""

    kind: str
    fake: FakeForge
    clock: MovableClock
    build: Callable[..., Adapter]
    adapters: list[Adapter] = field(default_factory=list)
    forge: Adapter = field(init=False)

    def __post_init__(self) -> None:
        self.forge = self.make()

    def make(self, **options: Any) -> Adapter:
        """Another adapter on the same fake (its requests are accounted for too)."""
        adapter = self.build(**options)
        self.adapters.append(adapter)
        return adapter

    def api_calls(self) -> int:
        return sum(adapter.api_calls for adapter in self.adapters)

    def reset_counts(self) -> None:
        self.fake.reset_requests()
        for adapter in self.adapters:
            adapter.api_calls = 0

    def ref(self, full_name: str = REPO) -> RepoRef:
        installation = INSTALLATION_ID if self.kind == "github" else None
        return RepoRef(self.kind, full_name, installation)

    def seed(self, files: Mapping[str, bytes | str], full_name: str = REPO) -> RepoRef:
        self.fake.create_repo(full_name, files)
        self.fake.add_installation(INSTALLATION_ID, [full_name])
        return self.ref(full_name)

    def change_wording(self) -> str:
        return "pull request" if self.kind == "github" else "merge request"


def build_adapter(
    kind: str, fake: FakeForge, key: AppKey, clock: MovableClock, **options: Any
) -> Adapter:
    """The adapter as production builds it, minus the client-side throttle and retries."""
    if kind == "github":
        github_options: dict[str, Any] = {
            "retry": None,
            "seconds_between_requests": 0,
            "seconds_between_writes": 0,
            "timeout": 5,
            **options,
        }
        return GitHubForge(
            base_url=fake.github_api_url,
            app_id=APP_ID,
            private_key=key.private_pem,
            clock=clock,
            **github_options,
        )
    gitlab_options: dict[str, Any] = {"retry_transient_errors": False, "timeout": 5, **options}
    return GitLabForge(url=fake.gitlab_url, token=GITLAB_TOKEN, clock=clock, **gitlab_options)


@pytest.fixture(params=FORGES)
def subject(
    request: pytest.FixtureRequest, fake_forge: FakeForge, app_key: AppKey
) -> Iterator[Subject]:
    yield wired(str(request.param), fake_forge, app_key)


@pytest.fixture
def github_subject(fake_forge: FakeForge, app_key: AppKey) -> Subject:
    """The GitHub adapter alone, for what only GitHub has (its GraphQL reads)."""
    return wired("github", fake_forge, app_key)


def wired(kind: str, fake_forge: FakeForge, app_key: AppKey) -> Subject:
    fake_forge.register_app(APP_ID, app_key.public_pem)
    fake_forge.add_token(GITLAB_TOKEN)
    clock = MovableClock()

    def build(**options: Any) -> Adapter:
        return build_adapter(kind, fake_forge, app_key, clock, **options)

    return Subject(kind, fake_forge, clock, build)
