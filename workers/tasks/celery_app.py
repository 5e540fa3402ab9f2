"""make_celery(settings): the Celery app, built on demand (nothing happens at import time)."""

from __future__ import annotations

from celery import Celery

from workers.jobs import SCAN_QUEUE, SCAN_QUEUES
from workers.runtime.settings import Settings
from workers.tasks.scan_task import register_tasks

QUEUE = SCAN_QUEUE
QUEUES = ",".join(SCAN_QUEUES)  # a worker's `-Q`, in the order it takes from them


def make_celery(settings: Settings) -> Celery:
    if settings.embedded_queue:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private from creation
        import workers.runtime.sqlite_transport  # noqa: F401  (registers the embedded URL scheme)
    app = Celery("pullpolicy", broker=settings.effective_broker_url, set_as_current=False)
    app.conf.update(
        # A scan is acknowledged only when it finished: a worker killed mid-scan leaves the
        # message to be redelivered, and the PR logic is idempotent, so a rerun is harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # No input may hold a worker slot (or a repository lock) for long: the soft limit
        # raises in the task, which releases its locks; the hard limit kills the process.
        task_soft_time_limit=settings.scan_time_limit_seconds,
        task_time_limit=settings.scan_time_limit_seconds + settings.scan_time_limit_grace_seconds,
    )
    # The broker redelivers an unacknowledged scan after this long (a dead worker's task):
    # Redis, SQS and the embedded queue's lease. Redis sweeps for such tasks every few seconds
    # (kombu's default sweep runs every ~100 s); the embedded queue needs no sweep.
    app.conf.broker_transport_options = {
        "visibility_timeout": settings.scan_lock_seconds,
        "unacked_restore_interval": max(1, min(10, settings.scan_lock_seconds // 5)),
        "unacked_restore_throttle": 1,
        # Redis: take from the queues in `-Q` order, not round robin, so pushes go ahead of
        # an onboarding backlog (the embedded transport does the same, sqlite_transport.py).
        "queue_order_strategy": "priority",
    }
    register_tasks(app, settings)
    return app
