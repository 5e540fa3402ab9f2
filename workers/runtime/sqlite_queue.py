"""The embedded queue's storage: one SQLite table of messages with leases (at-least-once).

A taken message is not deleted, it is leased: hidden until `available_at` (now + the lease).
Acknowledging deletes it; a worker that dies leaves the lease to run out, and the next
consumer that starts hands back at once the leases of holders no longer running on this
machine. A message may also be put with a due time (a countdown): it stays hidden until then.

Writes are durable before they return (WAL with `synchronous=FULL`). `put_many` commits many
messages in one transaction: the receiver's group commit.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workers.runtime.sqlite_files import ThreadConnections

SCHEME = "pullpolicy-sqlite"
"""Broker URL scheme of the embedded queue: `pullpolicy-sqlite://localhost//ABSOLUTE/PATH`."""
FILENAME = "queue.sqlite"
BUSY_SECONDS = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    tag TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    available_at REAL NOT NULL,
    holder INTEGER
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, available_at);
CREATE INDEX IF NOT EXISTS messages_held ON messages (holder) WHERE holder IS NOT NULL;
"""
_NEXT = "SELECT id FROM messages WHERE queue = ? AND available_at <= ? ORDER BY id LIMIT 1"
# Taken in one statement: two consumers can never lease the same message.
_LEASE = """
UPDATE messages SET available_at = ?, holder = ?
WHERE id = (SELECT id FROM messages WHERE queue = ? AND available_at <= ? ORDER BY id LIMIT 1)
RETURNING tag, payload
"""


@dataclass(frozen=True)
class NewMessage:
    queue: str
    tag: str  # kombu's delivery tag, unique per message: acks and restores name it
    payload: str
    due_at: float = 0.0


@dataclass(frozen=True)
class Lease:
    """A taken message. Its holder and expiry name this lease: once it runs out and another
    consumer takes the message, acks and releases of this lease no longer touch it."""

    tag: str
    payload: str
    holder: int
    until: float


def broker_url(path: Path) -> str:
    """The broker URL of the queue file at `path` (kombu reads the path as the virtual host;
    the host only spares a warning)."""
    return f"{SCHEME}://localhost/{path.resolve()}"


class SqliteQueue:
    """Messages in a SQLite file shared by the receiver and the workers of one machine."""

    def __init__(self, path: Path) -> None:
        # Checkpoints in a thread of their own: one run by a commit would hold up every
        # delivery waiting on that commit.
        self._connections = ThreadConnections(
            path, busy_seconds=BUSY_SECONDS, background_checkpoints=True
        )
        connection = self._connection()
        connection.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection = self._connections.get()
        # A message answered 2xx must survive a power cut, not only a crash: fsync each commit.
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def put_many(self, messages: Sequence[NewMessage]) -> None:
        """Store every message, all or none, in one transaction (one fsync)."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT INTO messages (queue, tag, payload, available_at) VALUES (?, ?, ?, ?)",
                [(m.queue, m.tag, m.payload, m.due_at) for m in messages],
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def take(self, queue: str, lease_seconds: float, holder: int | None = None) -> Lease | None:
        """The oldest available message, leased for `lease_seconds`; None if none."""
        connection = self._connection()
        now = time.time()
        # A read first: polling an empty queue must not take the write lock every time.
        if connection.execute(_NEXT, (queue, now)).fetchone() is None:
            return None
        holder = os.getpid() if holder is None else holder
        until = now + lease_seconds
        row = connection.execute(_LEASE, (until, holder, queue, now)).fetchone()
        return None if row is None else Lease(str(row[0]), str(row[1]), holder, until)

    def ack(self, lease: Lease) -> bool:
        """Delete the message if `lease` still holds it; whether it did."""
        cursor = self._connection().execute(
            "DELETE FROM messages WHERE tag = ? AND holder = ? AND available_at = ?",
            (lease.tag, lease.holder, lease.until),
        )
        return cursor.rowcount > 0

    def release(self, lease: Lease) -> bool:
        """Make the message available again now (rejected, or its consumer stops) if `lease`
        still holds it; whether it did."""
        cursor = self._connection().execute(
            "UPDATE messages SET available_at = 0, holder = NULL"
            " WHERE tag = ? AND holder = ? AND available_at = ?",
            (lease.tag, lease.holder, lease.until),
        )
        return cursor.rowcount > 0

    def release_dead_holders(self, alive: Iterable[int] | None = None) -> int:
        """Hand back the leases of holders that are no longer running; how many were freed.

        Holders are process ids of this machine (the file is not shared across machines).
        """
        connection = self._connection()
        holders = [row[0] for row in connection.execute(_HOLDERS)]
        running = set(alive) if alive is not None else {pid for pid in holders if _running(pid)}
        dead = [(pid,) for pid in holders if pid not in running]
        if not dead:
            return 0
        connection.execute("BEGIN IMMEDIATE")
        try:
            cursor = connection.executemany(
                "UPDATE messages SET available_at = 0, holder = NULL WHERE holder = ?", dead
            )
            freed = cursor.rowcount
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return freed

    def size(self, queue: str) -> int:
        """Messages available now (not leased, not waiting for their due time)."""
        row = (
            self._connection()
            .execute(
                "SELECT COUNT(*) FROM messages WHERE queue = ? AND available_at <= ?",
                (queue, time.time()),
            )
            .fetchone()
        )
        return int(row[0])

    def purge(self, queue: str) -> int:
        """Delete the queue's available messages; how many."""
        cursor = self._connection().execute(
            "DELETE FROM messages WHERE queue = ? AND available_at <= ?", (queue, time.time())
        )
        return cursor.rowcount

    def close(self) -> None:
        self._connections.close()


_HOLDERS = "SELECT DISTINCT holder FROM messages WHERE holder IS NOT NULL"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # Linux: a killed child its parent has not reaped yet is dead too
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")
