"""The embedded broker: a kombu virtual transport over `SqliteQueue` (URL `pullpolicy-sqlite://`).

Why not kombu's SQLAlchemy transport: it marks a delivered message invisible for good and has
no visibility timeout, so a worker killed mid-scan loses its message. Here a delivered message
is leased (`visibility_timeout` transport option, seconds) and only an acknowledgement deletes
it; a rejection or a warm shutdown hands it back at once, a dead consumer's lease is handed back
when the next consumer starts, or when it runs out.

Importing this module registers the URL scheme with kombu.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

import orjson
from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.utils.scheduling import FairCycle

from workers.jobs import SCAN_QUEUES
from workers.runtime.sqlite_queue import SCHEME, Lease, NewMessage, SqliteQueue

DEFAULT_VISIBILITY_TIMEOUT = 3600.0
POLLING_SECONDS = 0.25  # an idle worker's read of the queue: one indexed SELECT

TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"

_stores: dict[str, SqliteQueue] = {}
_stores_lock = threading.Lock()
_inherited: list[SqliteQueue] = []


def _forget_stores_after_fork() -> None:
    """In a forked child (a pool process replaced after a time limit): open stores afresh.

    The parent's stores hold its connections and a checkpoint thread that does not exist in
    the child, and SQLite connections must not be used across fork(). The inherited ones are
    kept referenced, never used: not even closed, which would touch the parent's file.
    """
    global _stores_lock
    _inherited.extend(_stores.values())
    _stores.clear()
    _stores_lock = threading.Lock()  # the parent may have held it while forking


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_stores_after_fork)


def store_for(path: str) -> SqliteQueue:
    """One store (its connections) per file and process."""
    with _stores_lock:
        if path not in _stores:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _stores[path] = SqliteQueue(Path(path))
        return _stores[path]


def due_at(message: dict[str, Any]) -> float:
    """When a Celery message with a countdown (its `eta` header) may be taken; 0: now.

    Holding it in the queue until then, rather than in a worker, keeps a long countdown from
    outliving the lease of the worker that would otherwise hold it.
    """
    eta = (message.get("headers") or {}).get("eta")
    if not isinstance(eta, str):
        return 0.0
    try:
        moment = datetime.fromisoformat(eta)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # Celery's naive ETAs are UTC
    return moment.timestamp()


def new_message(queue: str, message: dict[str, Any]) -> NewMessage:
    tag = str(message["properties"]["delivery_tag"])
    return NewMessage(queue, tag, orjson.dumps(message).decode(), due_at(message))


class QoS(virtual.QoS):
    """Acknowledgements reach the file: ack deletes, reject without requeue deletes too."""

    channel: Channel

    def ack(self, delivery_tag: str) -> None:
        self.channel.settle(delivery_tag)
        super().ack(delivery_tag)  # type: ignore[no-untyped-call]

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not requeue:
            self.channel.settle(delivery_tag)
        # With requeue, the base class calls Channel._restore.
        super().reject(delivery_tag, requeue=requeue)  # type: ignore[no-untyped-call]


class PriorityCycle(FairCycle):
    """Tries the consumed queues in SCAN_QUEUES order on every read, instead of kombu's round
    robin: a push waiting in the scan queue is taken before any scan of an onboarding backlog."""

    def get(self, callback: Any, **kwargs: Any) -> Any:
        for queue in sorted(self.resources, key=_rank):
            try:
                return self.fun(queue, callback, **kwargs)
            except self.predicate:
                continue
        raise self.predicate()


def _rank(queue: str) -> int:
    return SCAN_QUEUES.index(queue) if queue in SCAN_QUEUES else len(SCAN_QUEUES)


class Channel(virtual.Channel):
    QoS = QoS

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)  # type: ignore[no-untyped-call]
        client = connection.client
        options = client.transport_options
        self.visibility_timeout = float(
            options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT)
        )
        self.store = store_for(client.virtual_host)
        # Delivery tag -> this channel's lease on it: an ack or a restore names the lease, so
        # a lease that ran out and was taken by another consumer is not theirs to touch.
        self._leases: dict[str, Lease] = {}
        # A consumer starting after a crash: what dead processes held is available again now.
        self.store.release_dead_holders()

    def _reset_cycle(self) -> None:
        self._cycle = PriorityCycle(self._get_and_deliver, self._active_queues, Empty)  # type: ignore[no-untyped-call]

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        return None  # a queue is just a column value

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return True

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        self.store.put_many([new_message(queue, message)])

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        lease = self.store.take(queue, self.visibility_timeout)
        if lease is None:
            raise Empty()
        self._leases[lease.tag] = lease
        message: dict[str, Any] = orjson.loads(lease.payload)
        return message

    def settle(self, delivery_tag: str) -> None:
        """Delete an acknowledged message, if this channel's lease still holds it."""
        lease = self._leases.pop(str(delivery_tag), None)
        if lease is not None:
            self.store.ack(lease)

    def _restore(self, message: Any) -> None:
        # The message is still in the file, leased: hand the lease back instead of copying it.
        lease = self._leases.pop(str(message.delivery_tag), None)
        if lease is not None:
            self.store.release(lease)

    def _size(self, queue: str) -> int:
        return self.store.size(queue)

    def _purge(self, queue: str) -> int:
        return self.store.purge(queue)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self.store.purge(queue)


class Transport(virtual.Transport):
    Channel = Channel
    polling_interval = POLLING_SECONDS
    driver_type = "sqlite"
    driver_name = SCHEME
    connection_errors = (sqlite3.OperationalError,)
    channel_errors = (sqlite3.OperationalError,)

    def driver_version(self) -> str:
        return sqlite3.sqlite_version
