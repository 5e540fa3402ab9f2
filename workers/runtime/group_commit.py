"""Group commit: many callers' writes in one transaction, each caller back only once it is durable.

One thread writes. While it commits a batch, new items gather; the next batch takes all of
them at once. So a lone item waits for one commit, and under load the cost of a commit (an
fsync) is shared by every item that arrived meanwhile, with no timer to tune.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_BATCH = 500  # items (the queue: deliveries) per transaction; the rest go in the next one
WAIT_SECONDS = 30.0  # a commit this slow means the disk is gone: the caller gets an error


class CommitterClosed(Exception):
    """The committer was closed before the item was written."""


class GroupCommitter(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], None], *, name: str = "group-commit") -> None:
        self._write = write
        self._pending: list[tuple[T, Future[None]]] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> None:
        """Return once `item` is committed; raise what the write raised."""
        self.submit_nowait(item).result(timeout=WAIT_SECONDS)

    @property
    def alive(self) -> bool:
        """True while the writer thread runs and takes new items."""
        return not self._closed and self._thread.is_alive()

    def submit_nowait(self, item: T) -> Future[None]:
        """A future done once `item` is committed (or failed with what the write raised): an
        event loop can await it (`asyncio.wrap_future`) without a thread blocking on it.

        Cancelling the future before its batch starts withdraws the item (its caller gave up);
        once the batch is being written, cancelling has no effect on it or on its batch.
        """
        done: Future[None] = Future()
        with self._wake:
            if not self.alive:  # fail now, not after the caller's whole wait
                raise CommitterClosed("the queue writer is closed")
            self._pending.append((item, done))
            self._wake.notify()
        return done

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return  # closed and drained
                taken, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            # Running futures cannot be cancelled any more, so setting their result below
            # cannot raise; a cancelled one (its caller timed out) is left out of the write.
            batch = [(item, done) for item, done in taken if done.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                self._write([item for item, _ in batch])
            except BaseException as error:  # every caller of the batch learns it failed
                for _, done in batch:
                    done.set_exception(error)
            else:
                for _, done in batch:
                    done.set_result(None)

    def close(self) -> None:
        """Write what is pending, then stop."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=WAIT_SECONDS)
