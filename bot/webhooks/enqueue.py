"""Handing scan jobs to the workers: the Enqueuer seam, its Celery and in-memory implementations."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any, Protocol

from workers.jobs import SCAN_QUEUE, SCAN_TASK, ScanJob
from workers.runtime.settings import Settings

PING_TIMEOUT_SECONDS = 2.0


class Enqueuer(Protocol):
    blocking: bool
    """True when enqueue() waits on network I/O: the web app then calls it from a worker thread
    instead of the event loop."""

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        """Queue `job` to run no sooner than `countdown` seconds from now; raise if it cannot."""
        ...

    def ping(self) -> None:
        """Raise when the broker cannot be reached (readiness)."""
        ...


class CeleryEnqueuer:
    """Sends `SCAN_TASK` to `SCAN_QUEUE` with the job as its one argument (`job.to_dict()`).

    Needs only the broker URL: the receiver never imports the worker's task code. The Celery
    client is built on first use, so importing or constructing this does no I/O.
    """

    blocking = True

    def __init__(self, broker_url: str) -> None:
        self._broker_url = broker_url
        self._app: Any = None
        self._build_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> CeleryEnqueuer:
        if settings.embedded_queue:
            # kombu creates the SQLite file, not its directory.
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.effective_broker_url)

    def _celery(self) -> Any:
        with self._build_lock:
            if self._app is None:
                from celery import Celery  # heavy; only the production path needs it

                self._app = Celery("pullpolicy-receiver", broker=self._broker_url)
            return self._app

    def ping(self) -> None:
        with self._celery().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=PING_TIMEOUT_SECONDS)

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        due = replace(job, due_at=time.time() + max(0.0, countdown))
        self._celery().send_task(
            SCAN_TASK,
            args=[due.to_dict()],
            queue=SCAN_QUEUE,
            countdown=countdown if countdown > 0 else None,
        )


class InMemoryEnqueuer:
    """Records what would have been queued: for tests and the webhook benchmark."""

    blocking = False

    def __init__(self) -> None:
        self.queued: list[tuple[ScanJob, float]] = []
        self._lock = threading.Lock()

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        with self._lock:
            self.queued.append((job, countdown))

    def ping(self) -> None:
        return None

    @property
    def jobs(self) -> list[ScanJob]:
        with self._lock:
            return [job for job, _ in self.queued]
