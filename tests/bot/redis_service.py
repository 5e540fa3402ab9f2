"""A real Redis for tests: REDIS_URL, else 127.0.0.1:6379, else a `redis-server` we start.

When none is available the test skips with the reason (a failure under REQUIRE_ALL_TESTS=1, as
every skip: tests/require_all.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _reachable(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _unavailable(reason: str) -> None:
    pytest.skip(reason)


def redis_url_fixture() -> Iterator[str]:
    """Body of a session fixture: yields a Redis URL, stopping any server it started."""
    explicit = os.environ.get("REDIS_URL")
    if explicit:
        if not _reachable(explicit):
            _unavailable("REDIS_URL is set but Redis does not answer there")
        yield explicit
        return
    if _reachable(DEFAULT_URL):
        yield DEFAULT_URL
        return
    server = shutil.which("redis-server")
    if server is None:
        _unavailable("no Redis on 127.0.0.1:6379 and no redis-server on PATH")
        return
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _reachable(url):
            if process.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
