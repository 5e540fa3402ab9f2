"""SQLite files shared by threads and processes (the embedded state and activity record):
one connection per thread, WAL so readers never wait for a writer, autocommit statements."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

CHECKPOINT_SECONDS = 1.0

# A process must not fork while another of its threads is inside SQLite: the child inherits
# SQLite's internal mutexes as they were and would wait on one forever at its first statement.
# The main thread forks (a Celery pool replacing a process) while checkpoint threads run, so
# every background checkpoint holds this lock and fork() waits for it.
FORK_GUARD = threading.Lock()


def _release_fork_guard() -> None:
    FORK_GUARD.release()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=FORK_GUARD.acquire,
        after_in_parent=_release_fork_guard,
        after_in_child=_release_fork_guard,
    )


class ThreadConnections:
    """With `background_checkpoints`, commits never checkpoint the WAL themselves: a daemon
    thread does it every CHECKPOINT_SECONDS. A checkpoint syncs the database file (milliseconds,
    more on a busy disk), which must not stall the receiver's event loop mid-delivery."""

    def __init__(
        self, path: Path, *, busy_seconds: float, background_checkpoints: bool = False
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._busy_seconds = busy_seconds
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._background = background_checkpoints
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if background_checkpoints:
            # Opened here, not in the thread: two connections switching a new file to WAL at
            # once make one of them fail with "database is locked".
            connection = self._open()
            self._checkpointer = threading.Thread(
                target=self._checkpoint_until_closed,
                args=(connection,),
                name="sqlite-checkpoint",
                daemon=True,
            )
            self._checkpointer.start()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
            with self._guard:
                self._opened.append(connection)
        return connection

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path,
            timeout=self._busy_seconds,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent on crashes
        if self._background:
            connection.execute("PRAGMA wal_autocheckpoint=0")
        return connection

    def _checkpoint_until_closed(self, connection: sqlite3.Connection) -> None:
        try:
            while not self._stop.wait(CHECKPOINT_SECONDS):
                try:
                    # PASSIVE: copies what no reader still needs, never waits for anyone.
                    with FORK_GUARD:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    continue  # busy or locked: the next round catches up
        finally:
            connection.close()

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=5)
        with self._guard:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()
