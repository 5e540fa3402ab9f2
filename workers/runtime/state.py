"""Tiny shared state for the receiver and the workers: claims, marks and per-key locks.

Two backends with one behaviour: Redis (production, `redis_url`) and a SQLite file in the data
dir (embedded mode; WAL, safe across processes). `open_state(settings)` picks one.

- `claim(namespace, key, ttl)`: atomic set-if-absent with expiry (delivery dedupe, throttles);
  `consume` takes a live claim back exactly once (single-use tokens).
- `mark` / `is_marked`: a permanent flag (e.g. "this repository was scanned before").
- `add` / `put` / `numbers`: named numbers (counters that only grow, values that are replaced),
  shared by every process: the workers' Prometheus metrics.
- `lock(key, timeout)`: a lease held by one holder at a time across processes; it expires after
  `timeout` seconds so a crashed holder cannot block the key forever.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from workers.runtime.settings import Settings
from workers.runtime.sqlite_files import ThreadConnections

if TYPE_CHECKING:
    import redis

SCANNED = "scanned"
"""Mark namespace written by workers after a successful scan; key: `ScanJob.lock_key`."""

STATE_FILENAME = "state.sqlite"
SQLITE_BUSY_SECONDS = 5.0  # writes last microseconds; waiting longer means something is wrong
REDIS_PREFIX = "pullpolicy:"
REDIS_TIMEOUT_SECONDS = 2.0

# Deletes the lock only when it still holds our token: a lease that expired and was taken by
# another holder must not be released by us.
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class LockHeld(Exception):
    """The lock is held by someone else and did not come free within `wait` seconds."""


class State(Protocol):
    def claim(self, namespace: str, key: str, ttl_seconds: float) -> bool:
        """True for the first caller until the claim expires; False for everyone else."""
        ...

    def release(self, namespace: str, key: str) -> None:
        """Forget a claim (e.g. the work it guarded failed and a retry must get through)."""
        ...

    def consume(self, namespace: str, key: str) -> bool:
        """Forget a live claim; True only for the one caller that removed it (single-use
        tokens: /setup's state). An expired or unknown claim gives False."""
        ...

    def mark(self, namespace: str, key: str) -> None: ...

    def is_marked(self, namespace: str, key: str) -> bool: ...

    def lock(self, key: str, timeout: float, *, wait: float = 0.0) -> AbstractContextManager[None]:
        """Hold `key` for at most `timeout` seconds; raise LockHeld after `wait` seconds."""
        ...

    def add(self, namespace: str, amounts: Mapping[str, float]) -> None:
        """Add each amount to its number (missing numbers start at 0); each addition is atomic,
        so concurrent writers never lose one."""
        ...

    def put(self, namespace: str, values: Mapping[str, float]) -> None:
        """Set numbers, replacing what they held."""
        ...

    def numbers(self, namespace: str) -> dict[str, float]:
        """Every number of the namespace."""
        ...

    def close(self) -> None: ...


def open_state(settings: Settings) -> State:
    """Redis when `redis_url` is set, else a SQLite file in the data dir."""
    if settings.redis_url:
        return RedisState(settings.redis_url)
    return SqliteState(settings.data_dir / STATE_FILENAME)


def _poll_until(acquire: Iterator[bool], wait: float, key: str) -> None:
    deadline = time.monotonic() + wait
    delay = 0.01
    for acquired in acquire:
        if acquired:
            return
        if time.monotonic() >= deadline:
            raise LockHeld(f"lock {key!r} is held by another worker")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.25)


def redis_key(kind: str, namespace: str, key: str) -> str:
    """The Redis key of a claim (`kind` "claim") or a mark ("mark"): what the receiver's
    one-round-trip script (bot/webhooks/one_trip.py) reads and writes directly."""
    return f"{REDIS_PREFIX}{kind}:{namespace}:{key}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisState:
    """Redis backend: SET NX PX for claims and locks, a Lua compare-and-delete for release."""

    blocking = True
    """Its calls wait on the network: the web app makes them from a worker thread, never on
    its event loop."""

    def __init__(self, url: str) -> None:
        import redis  # only deployments that configure Redis need the client

        self.url = url
        # Bounded waits: a stalled Redis must fail fast (the delivery gets a 503 and is
        # retried) rather than hold the receiver's worker threads.
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._release = self._client.register_script(_RELEASE_SCRIPT)

    def _key(self, kind: str, namespace: str, key: str) -> str:
        return redis_key(kind, namespace, key)

    def claim(self, namespace: str, key: str, ttl_seconds: float) -> bool:
        ttl_ms = max(1, int(ttl_seconds * 1000))
        return bool(self._client.set(self._key("claim", namespace, key), b"1", nx=True, px=ttl_ms))

    def release(self, namespace: str, key: str) -> None:
        self._client.delete(self._key("claim", namespace, key))

    def consume(self, namespace: str, key: str) -> bool:
        return bool(self._client.delete(self._key("claim", namespace, key)))

    def mark(self, namespace: str, key: str) -> None:
        self._client.set(self._key("mark", namespace, key), b"1")

    def is_marked(self, namespace: str, key: str) -> bool:
        return bool(self._client.exists(self._key("mark", namespace, key)))

    @contextmanager
    def lock(self, key: str, timeout: float, *, wait: float = 0.0) -> Iterator[None]:
        name = f"{REDIS_PREFIX}lock:{key}"
        token = secrets.token_hex(16)
        ttl_ms = max(1, int(timeout * 1000))

        def attempts() -> Iterator[bool]:
            while True:
                yield bool(self._client.set(name, token, nx=True, px=ttl_ms))

        _poll_until(attempts(), wait, key)
        try:
            yield
        finally:
            self._release(keys=[name], args=[token])

    def add(self, namespace: str, amounts: Mapping[str, float]) -> None:
        name = f"{REDIS_PREFIX}numbers:{namespace}"
        pipeline = self._client.pipeline(transaction=False)  # one round trip
        for key, amount in amounts.items():
            pipeline.hincrbyfloat(name, key, amount)
        pipeline.execute()

    def put(self, namespace: str, values: Mapping[str, float]) -> None:
        pipeline = self._client.pipeline(transaction=False)
        for key, value in values.items():
            pipeline.hset(f"{REDIS_PREFIX}numbers:{namespace}", key, value)
        pipeline.execute()

    def numbers(self, namespace: str) -> dict[str, float]:
        stored = self._client.hgetall(f"{REDIS_PREFIX}numbers:{namespace}")
        return {_text(key): float(value) for key, value in stored.items()}

    def close(self) -> None:
        self._client.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    namespace TEXT NOT NULL, key TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
-- The periodic purge of expired claims reads only them, not eight days of deliveries.
CREATE INDEX IF NOT EXISTS claims_by_expiry ON claims (expires_at);
CREATE TABLE IF NOT EXISTS marks (
    namespace TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS locks (
    key TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS numbers (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""

# One statement, so it is atomic across processes: insert, or take over an expired row.
_TAKE_CLAIM = """
INSERT INTO claims (namespace, key, expires_at) VALUES (?, ?, ?)
ON CONFLICT (namespace, key) DO UPDATE SET expires_at = excluded.expires_at
WHERE claims.expires_at <= ?
"""
_TAKE_LOCK = """
INSERT INTO locks (key, token, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
WHERE locks.expires_at <= ?
"""
_ADD_NUMBER = """
INSERT INTO numbers (namespace, key, value) VALUES (?, ?, ?)
ON CONFLICT (namespace, key) DO UPDATE SET value = value + excluded.value
"""
_PUT_NUMBER = """
INSERT INTO numbers (namespace, key, value) VALUES (?, ?, ?)
ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value
"""
PURGE_EXPIRED_CLAIMS = "DELETE FROM claims WHERE expires_at <= ?"
_PURGE_EVERY = 1000  # claims between sweeps of expired rows


class SqliteState:
    """SQLite backend in WAL mode: one connection per thread, autocommit statements."""

    blocking = False  # local writes of microseconds: cheaper than a hop to a thread

    def __init__(self, path: Path) -> None:
        self._connections = ThreadConnections(
            path, busy_seconds=SQLITE_BUSY_SECONDS, background_checkpoints=True
        )
        self._guard = threading.Lock()
        self._claims_since_purge = 0
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()

    def claim(self, namespace: str, key: str, ttl_seconds: float) -> bool:
        now = time.time()
        connection = self._connection()
        taken = connection.execute(_TAKE_CLAIM, (namespace, key, now + ttl_seconds, now)).rowcount
        self._maybe_purge(connection, now)
        return taken == 1

    def _maybe_purge(self, connection: sqlite3.Connection, now: float) -> None:
        with self._guard:
            self._claims_since_purge += 1
            if self._claims_since_purge < _PURGE_EVERY:
                return
            self._claims_since_purge = 0
        connection.execute(PURGE_EXPIRED_CLAIMS, (now,))

    def release(self, namespace: str, key: str) -> None:
        self._connection().execute(
            "DELETE FROM claims WHERE namespace = ? AND key = ?", (namespace, key)
        )

    def consume(self, namespace: str, key: str) -> bool:
        deleted = self._connection().execute(
            "DELETE FROM claims WHERE namespace = ? AND key = ? AND expires_at > ?",
            (namespace, key, time.time()),
        )
        return deleted.rowcount == 1

    def mark(self, namespace: str, key: str) -> None:
        self._connection().execute(
            "INSERT OR IGNORE INTO marks (namespace, key) VALUES (?, ?)", (namespace, key)
        )

    def is_marked(self, namespace: str, key: str) -> bool:
        row = (
            self._connection()
            .execute("SELECT 1 FROM marks WHERE namespace = ? AND key = ?", (namespace, key))
            .fetchone()
        )
        return row is not None

    @contextmanager
    def lock(self, key: str, timeout: float, *, wait: float = 0.0) -> Iterator[None]:
        connection = self._connection()
        token = secrets.token_hex(16)

        def attempts() -> Iterator[bool]:
            while True:
                now = time.time()
                yield connection.execute(_TAKE_LOCK, (key, token, now + timeout, now)).rowcount == 1

        _poll_until(attempts(), wait, key)
        try:
            yield
        finally:
            connection.execute("DELETE FROM locks WHERE key = ? AND token = ?", (key, token))

    def add(self, namespace: str, amounts: Mapping[str, float]) -> None:
        self._write_numbers(_ADD_NUMBER, namespace, amounts)

    def put(self, namespace: str, values: Mapping[str, float]) -> None:
        self._write_numbers(_PUT_NUMBER, namespace, values)

    def _write_numbers(self, statement: str, namespace: str, values: Mapping[str, float]) -> None:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")  # one transaction: one WAL append, not one each
        try:
            connection.executemany(
                statement, [(namespace, key, value) for key, value in values.items()]
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # never leave this thread's connection mid-write
                connection.execute("ROLLBACK")
            raise

    def numbers(self, namespace: str) -> dict[str, float]:
        rows = self._connection().execute(
            "SELECT key, value FROM numbers WHERE namespace = ?", (namespace,)
        )
        return {key: float(value) for key, value in rows}

    def close(self) -> None:
        self._connections.close()
