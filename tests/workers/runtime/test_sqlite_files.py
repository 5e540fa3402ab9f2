"""workers.runtime.sqlite_files: a fork never copies a thread that is inside SQLite."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from workers.runtime import sqlite_files
from workers.runtime.sqlite_files import FORK_GUARD, ThreadConnections


def test_a_fork_waits_for_the_checkpoint_in_progress() -> None:
    forked = threading.Event()

    def fork_and_reap() -> None:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        forked.set()
        os.waitpid(pid, 0)

    with FORK_GUARD:  # what a background checkpoint holds while it runs
        forker = threading.Thread(target=fork_and_reap)
        forker.start()
        assert not forked.wait(0.5), "fork() went ahead while a checkpoint was running"
    forker.join(10)
    assert forked.is_set()


def _checkpointed_rows(path: Path) -> int:
    # immutable=1 reads the main file only: rows there were copied by a checkpoint.
    with closing(sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)) as reader:
        try:
            return int(reader.execute("SELECT COUNT(*) FROM t").fetchone()[0])
        except sqlite3.OperationalError:  # not even the table is checkpointed yet
            return 0


def test_background_checkpoints_run_under_the_fork_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_files, "CHECKPOINT_SECONDS", 0.01)
    path = tmp_path / "guarded.sqlite"
    with FORK_GUARD:
        connections = ThreadConnections(path, busy_seconds=5, background_checkpoints=True)
        writer = connections.get()
        writer.execute("CREATE TABLE t (n INTEGER)")
        writer.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(10)])
        time.sleep(0.3)  # thirty checkpoint rounds, were they not waiting for the guard
        assert _checkpointed_rows(path) == 0
    deadline = time.monotonic() + 10
    while _checkpointed_rows(path) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    connections.close()
    assert _checkpointed_rows(path) == 10
