"""workers.runtime.state on both backends: claims, marks and locks, across threads and processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.bot.redis_service import redis_url_fixture
from workers.runtime.settings import Settings
from workers.runtime.state import (
    PURGE_EXPIRED_CLAIMS,
    STATE_FILENAME,
    LockHeld,
    RedisState,
    SqliteState,
    State,
    open_state,
)

BACKENDS = ("sqlite", "redis")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    yield from redis_url_fixture()


@pytest.fixture
def unique() -> str:
    """A namespace/key prefix no other test (or a live deployment) uses."""
    return f"test-{uuid.uuid4().hex}"


def _open(backend: str, location: str) -> State:
    return RedisState(location) if backend == "redis" else SqliteState(Path(location))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return ("redis", url)
    return ("sqlite", str(tmp_path / STATE_FILENAME))


@pytest.fixture
def state(backend: tuple[str, str], unique: str) -> Iterator[State]:
    opened = _open(*backend)
    yield opened
    if isinstance(opened, RedisState):
        import redis

        client = redis.Redis.from_url(backend[1])
        for key in client.scan_iter(match=f"pullpolicy:*{unique}*"):
            client.delete(key)
        client.close()
    opened.close()


def test_claim_is_granted_once(state: State, unique: str) -> None:
    assert state.claim(unique, "delivery-1", 60) is True
    assert state.claim(unique, "delivery-1", 60) is False
    assert state.claim(unique, "delivery-2", 60) is True
    assert state.claim(f"{unique}-other", "delivery-1", 60) is True


def test_expired_claim_can_be_taken_again(state: State, unique: str) -> None:
    assert state.claim(unique, "key", 0.05)
    time.sleep(0.2)
    assert state.claim(unique, "key", 60) is True
    assert state.claim(unique, "key", 60) is False


def test_released_claim_can_be_taken_again(state: State, unique: str) -> None:
    assert state.claim(unique, "key", 60)
    state.release(unique, "key")
    assert state.claim(unique, "key", 60) is True


def test_concurrent_claims_have_one_winner(state: State, unique: str) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: state.claim(unique, "key", 60), range(64)))
    assert results.count(True) == 1


def test_marks_persist_and_are_per_key(state: State, unique: str) -> None:
    assert state.is_marked(unique, "github:o/r") is False
    state.mark(unique, "github:o/r")
    state.mark(unique, "github:o/r")  # idempotent
    assert state.is_marked(unique, "github:o/r") is True
    assert state.is_marked(unique, "gitlab:o/r") is False


def test_lock_excludes_a_second_holder_until_released(state: State, unique: str) -> None:
    with state.lock(unique, timeout=60), pytest.raises(LockHeld), state.lock(unique, timeout=60):
        pass
    with state.lock(unique, timeout=60):
        pass


def test_lock_waits_for_a_holder_that_releases(state: State, unique: str) -> None:
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with state.lock(unique, timeout=60):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    threading.Timer(0.1, release.set).start()
    with state.lock(unique, timeout=60, wait=10):
        assert release.is_set()  # we only got in after the holder let go
    thread.join(10)


def test_expired_lock_is_taken_over_and_the_old_holder_cannot_release_it(
    state: State, unique: str
) -> None:
    crashed = state.lock(unique, timeout=0.05)
    crashed.__enter__()  # a holder that never finishes
    time.sleep(0.2)
    successor = state.lock(unique, timeout=60)
    successor.__enter__()
    crashed.__exit__(None, None, None)  # late release must not free the successor's lock
    with pytest.raises(LockHeld), state.lock(unique, timeout=60):
        pass
    successor.__exit__(None, None, None)
    with state.lock(unique, timeout=60):
        pass


# Forked children: cheap to start, and each opens its own connection like a real worker would.
_FORK = multiprocessing.get_context("fork")


def _claim_in_child(
    backend: str, location: str, namespace: str, barrier: Any, results: Any
) -> None:
    opened = _open(backend, location)
    barrier.wait(30)  # all children claim at the same moment
    results.put(opened.claim(namespace, "shared", 60))
    opened.close()


def _try_lock_in_child(backend: str, location: str, key: str, results: Any) -> None:
    opened = _open(backend, location)
    try:
        with opened.lock(key, timeout=60):
            results.put("acquired")
    except LockHeld:
        results.put("held")
    opened.close()


def _run_children(target: Any, count: int, *args: Any) -> list[Any]:
    results = _FORK.Queue()
    # Daemons, killed below whatever happens: a stuck child fails this test, never the run
    # (the interpreter would otherwise wait for it at exit).
    children = [
        _FORK.Process(target=target, args=(*args, results), daemon=True) for _ in range(count)
    ]
    try:
        for child in children:
            child.start()
        collected = [results.get(timeout=30) for _ in children]
        for child in children:
            child.join(30)
            assert child.exitcode == 0
        return collected
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
                child.join(5)


def test_claims_and_locks_hold_across_processes(
    state: State, backend: tuple[str, str], unique: str
) -> None:
    children = 6
    claims = _run_children(_claim_in_child, children, *backend, unique, _FORK.Barrier(children))
    assert claims.count(True) == 1
    with state.lock(unique, timeout=60):
        assert _run_children(_try_lock_in_child, 1, *backend, unique) == ["held"]
    assert _run_children(_try_lock_in_child, 1, *backend, unique) == ["acquired"]


def _add_in_child(backend: str, location: str, namespace: str, barrier: Any, results: Any) -> None:
    opened = _open(backend, location)
    barrier.wait(30)
    for _ in range(50):
        opened.add(namespace, {"scans": 1.0, "seconds": 0.5})
    results.put("done")
    opened.close()


def test_numbers_add_up_across_processes_without_losing_any(
    state: State, backend: tuple[str, str], unique: str
) -> None:
    children = 4
    _run_children(_add_in_child, children, *backend, unique, _FORK.Barrier(children))
    assert state.numbers(unique) == {"scans": 200.0, "seconds": 100.0}


def test_put_replaces_numbers_and_namespaces_are_separate(state: State, unique: str) -> None:
    state.add(unique, {"calls": 3.0})
    state.put(unique, {"remaining": 4999.0})
    state.put(unique, {"remaining": 4990.0})
    state.add(unique, {"calls": 2.0})
    assert state.numbers(unique) == {"calls": 5.0, "remaining": 4990.0}
    assert state.numbers(unique + "-other") == {}


def test_sqlite_state_uses_wal_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / STATE_FILENAME
    first = SqliteState(path)
    first.mark("scanned", "github:o/r")
    first.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    second = SqliteState(path)
    assert second.is_marked("scanned", "github:o/r")
    second.close()


def test_open_state_without_redis_url_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    embedded = open_state(Settings(data_dir=tmp_path))
    assert isinstance(embedded, SqliteState)
    embedded.close()
    assert (tmp_path / STATE_FILENAME).is_file()


def test_open_state_with_redis_url_is_redis(tmp_path: Path, redis_url: str) -> None:
    production = open_state(Settings(data_dir=tmp_path / "unused", redis_url=redis_url))
    assert isinstance(production, RedisState)
    production.close()
    assert not (tmp_path / "unused").exists()


def test_sqlite_commits_leave_checkpoints_to_a_background_thread(tmp_path: Path) -> None:
    # A checkpoint syncs the database file: it must not run inside a delivery's claim.
    path = tmp_path / STATE_FILENAME
    state = SqliteState(path)
    try:
        assert state._connection().execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        for number in range(500):
            state.claim("delivery", f"d-{number}", 60)

        def in_the_database_file() -> int:
            # immutable=1 reads the main file only, ignoring the WAL: rows there were
            # checkpointed, and only the background thread checkpoints.
            uri = f"{path.as_uri()}?immutable=1"
            with closing(sqlite3.connect(uri, uri=True)) as reader:
                try:
                    return int(reader.execute("SELECT COUNT(*) FROM claims").fetchone()[0])
                except sqlite3.OperationalError:  # not even the table is checkpointed yet
                    return 0

        deadline = time.monotonic() + 30
        while in_the_database_file() < 500:
            assert time.monotonic() < deadline, "the WAL was never checkpointed"
            time.sleep(0.2)
    finally:
        state.close()


def test_the_expired_claims_purge_reads_an_index_not_every_claim(tmp_path: Path) -> None:
    state = SqliteState(tmp_path / STATE_FILENAME)
    try:
        plan = state._connection().execute(
            f"EXPLAIN QUERY PLAN {PURGE_EXPIRED_CLAIMS}", (time.time(),)
        )
        assert any("claims_by_expiry" in str(step) for step in plan)
    finally:
        state.close()
