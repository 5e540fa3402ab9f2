from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bot.redis_service import redis_url_fixture


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    yield from redis_url_fixture()
