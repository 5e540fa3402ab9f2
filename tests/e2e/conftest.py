"""Fixtures every end-to-end module shares: its own local forge (module scope, so each module's
repositories and request counts start empty), a real Redis, and a bot on them (a receiver and
one worker process over Redis; a module needing another bot defines its own `bot`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bot.redis_service import redis_url_fixture
from tests.e2e.harness import APP_ID, GITLAB_TOKEN, Bot, settings_env
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


@pytest.fixture(scope="module")
def bot(
    forge: FakeForge, app_key: AppKey, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    env = settings_env(
        github_api_url=forge.github_api_url,
        gitlab_url=forge.gitlab_url,
        private_key=app_key.private_pem,
        data_dir=tmp_path_factory.mktemp("data"),
        redis_url=redis_url,
    )
    running = Bot(env, tmp_path_factory.mktemp("logs"))
    try:
        running.start_receiver()
        running.start_worker()
        yield running
    finally:
        running.stop()
