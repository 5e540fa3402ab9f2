"""Handing scan jobs to the workers: the Enqueuer seam; the embedded queue's writer, the Celery
client for external brokers, and an in-memory one for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Protocol

import orjson

from workers.jobs import SCAN_TASK, ScanJob
from workers.runtime.celery_message import task_message
from workers.runtime.group_commit import WAIT_SECONDS, CommitterClosed, GroupCommitter
from workers.runtime.settings import Settings
from workers.runtime.sqlite_queue import FILENAME, SCHEME, NewMessage, SqliteQueue

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


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
REDIS_TIMEOUT_SECONDS = 2.0


def enqueuer_for(settings: Settings) -> Enqueuer:
    """The embedded queue's writer without a broker URL, a direct writer for Redis, else a
    Celery client of the broker."""
    if settings.embedded_queue:
        return EmbeddedEnqueuer(settings.data_dir / FILENAME)
    if settings.effective_broker_url.startswith(REDIS_SCHEMES):
        return RedisEnqueuer(settings.effective_broker_url)
    return CeleryEnqueuer.from_settings(settings)


_JOB_FIELDS = tuple(field.name for field in fields(ScanJob))


def scan_message(job: ScanJob, countdown: float) -> tuple[str, str, float | None]:
    """(delivery tag, stored message, eta) of the Celery message that runs `job`."""
    due_at = time.time() + max(0.0, countdown)
    eta = due_at if countdown > 0 else None
    # `job.to_dict()` with `due_at` set, without dataclasses.asdict's recursive deep copy
    # (5% of the receiver's profile per delivery; the fields are plain values).
    arguments = {name: getattr(job, name) for name in _JOB_FIELDS} | {"due_at": due_at}
    message = task_message(SCAN_TASK, [arguments], job.queue, eta=eta)
    return str(message["properties"]["delivery_tag"]), orjson.dumps(message).decode(), eta


class EmbeddedEnqueuer:
    """Writes scan messages straight into the embedded queue's file, in the form the Celery
    worker consumes, many deliveries per transaction (group commit): each `enqueue` returns
    once its message is on disk, so a delivery answered 2xx survives a crash or power cut.
    """

    blocking = True  # waits for the commit: the web app calls it from a worker thread

    def __init__(self, path: Path) -> None:
        self._path = path
        self._store: SqliteQueue | None = None
        # One item per delivery: all of a delivery's messages go in one transaction.
        self._committer: GroupCommitter[Sequence[NewMessage]] | None = None
        self._build_lock = threading.Lock()

    def _writer(self) -> GroupCommitter[Sequence[NewMessage]]:
        with self._build_lock:  # opened on first use: constructing this does no I/O
            if self._committer is None:
                store = self._store = SqliteQueue(self._path)

                def write(deliveries: Sequence[Sequence[NewMessage]]) -> None:
                    store.put_many([message for messages in deliveries for message in messages])

                self._committer = GroupCommitter(write, name="queue-writer")
            return self._committer

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        self.enqueue_soon(job, countdown).result(timeout=WAIT_SECONDS)

    def enqueue_soon(self, job: ScanJob, countdown: float = 0.0) -> Future[None]:
        """`enqueue` without waiting: a future done once the message is on disk. The web app
        awaits it on its event loop, which costs less than a hop to a thread that waits."""
        return self.enqueue_all_soon([(job, countdown)])

    def enqueue_all_soon(self, jobs: Sequence[tuple[ScanJob, float]]) -> Future[None]:
        """Every (job, countdown) of one delivery in one transaction (one fsync, all or none):
        a future done once all of them are on disk. An installation with a thousand
        repositories must not wait for a thousand commits."""
        messages = [_new_message(job, countdown) for job, countdown in jobs]
        return self._writer().submit_nowait(messages)

    def ping(self) -> None:
        # Opens (and creates) the file: raises when the data dir is unusable. A writer whose
        # thread has stopped would leave every delivery waiting for nothing: not ready.
        if not self._writer().alive:
            raise CommitterClosed("the queue writer has stopped")

    def close(self) -> None:
        with self._build_lock:
            if self._committer is not None:
                self._committer.close()
            if self._store is not None:
                self._store.close()
            self._committer = self._store = None


def _new_message(job: ScanJob, countdown: float) -> NewMessage:
    tag, payload, eta = scan_message(job, countdown)
    return NewMessage(job.queue, tag, payload, eta or 0.0)


class RedisEnqueuer:
    """Pushes the Celery message onto the queue's Redis list itself, as kombu's Redis transport
    does for a priority-0 message on the default exchange (`LPUSH queue message`): one round
    trip, without the Celery client's millisecond of Python per `send_task`. The push is
    acknowledged by Redis before `enqueue` returns: a delivery answered 2xx is in the broker.
    """

    blocking = True  # a network call: the web app calls it from a worker thread

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._build_lock = threading.Lock()

    def _redis(self) -> Any:
        with self._build_lock:  # built on first use: constructing this does no I/O
            if self._client is None:
                import redis  # only deployments with a Redis broker need the client

                self._client = redis.Redis.from_url(
                    self.url,
                    socket_timeout=REDIS_TIMEOUT_SECONDS,
                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                )
            return self._client

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        _, payload, _ = scan_message(job, countdown)
        self._redis().lpush(job.queue, payload)

    def ping(self) -> None:
        self._redis().ping()


class CeleryEnqueuer:
    """Sends `SCAN_TASK` to the job's queue with the job as its one argument (`job.to_dict()`).

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
        return cls(settings.effective_broker_url)

    def _celery(self) -> Any:
        with self._build_lock:
            if self._app is None:
                from celery import Celery  # heavy; only the production path needs it

                if self._broker_url.startswith(SCHEME):
                    import workers.runtime.sqlite_transport  # noqa: F401  (registers the scheme)

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
            queue=job.queue,
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
