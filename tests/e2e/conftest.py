"""Fixtures every end-to-end module shares: its own local forge (module scope, so each module's
repositories and request counts start empty) and a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bot.redis_service import redis_url_fixture
from tests.e2e.harness import APP_ID, GITLAB_TOKEN
from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    yield from redis_url_fixture()


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory, app_key: AppKey) -> Iterator[FakeForge]:
    fake = FakeForge(tmp_path_factory.mktemp("forge"))
    fake.start()
    fake.register_app(APP_ID, app_key.public_pem)
    fake.add_token(GITLAB_TOKEN)
    yield fake
    fake.stop()
