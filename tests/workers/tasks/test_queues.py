"""Pushes go ahead of an onboarding backlog: with thousands of initial scans queued, a worker
takes a waiting push first. Real kombu consumers on the embedded file and on a real Redis,
configured by the worker's own `make_celery`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu.entity
import kombu.messaging
import pytest

from bot.webhooks import events
from bot.webhooks.enqueue import EmbeddedEnqueuer, RedisEnqueuer
from tests.bot.redis_service import redis_url_fixture
from workers.jobs import BACKLOG_QUEUE, BACKLOG_REASONS, SCAN_QUEUE, SCAN_QUEUES, ScanJob
from workers.runtime.queue_depth import queue_depth
from workers.runtime.settings import Settings
from workers.tasks.celery_app import QUEUES, make_celery

Queue: Any = kombu.entity.Queue  # kombu is untyped
Consumer: Any = kombu.messaging.Consumer

PUSHES = [
    ScanJob(forge="github", repo=f"acme/pushed-{n}", reason=events.REASON_PUSH) for n in (1, 2)
]
PUSH = PUSHES[0]
BACKLOG = [
    ScanJob(forge="github", repo=f"acme/repo-{n}", reason=events.REASON_INSTALLATION)
    for n in range(5)
]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    yield from redis_url_fixture()


def test_installation_scans_are_the_backlog_and_pushes_are_not() -> None:
    assert events.REASON_INSTALLATION in BACKLOG_REASONS
    assert {job.queue for job in BACKLOG} == {BACKLOG_QUEUE}
    assert PUSH.queue == SCAN_QUEUE
    assert f"{SCAN_QUEUE},{BACKLOG_QUEUE}" == QUEUES  # the worker's -Q, pushes first


def _taken_order(settings: Settings, queue_names: tuple[str, ...]) -> list[str]:
    """Repositories in the order a worker's consumer is handed them."""
    app = make_celery(settings)
    taken: list[str] = []

    def on_message(body: Any, message: Any) -> None:
        taken.append(ScanJob.from_dict(body[0][0]).repo)
        message.ack()

    with app.connection_for_read() as connection:
        queues = [Queue(name, routing_key=name) for name in queue_names]
        with Consumer(connection, queues, callbacks=[on_message], prefetch_count=1):
            for _ in range(len(BACKLOG) + len(PUSHES)):
                connection.drain_events(timeout=5)
    return taken


@pytest.mark.parametrize("listed", [SCAN_QUEUES, tuple(reversed(SCAN_QUEUES))])
def test_the_embedded_queue_hands_out_a_push_before_the_backlog(
    tmp_path: Path, listed: tuple[str, ...]
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    enqueuer = EmbeddedEnqueuer(settings.data_dir / "queue.sqlite")
    settings.data_dir.mkdir(parents=True)
    try:
        enqueuer.enqueue_all_soon([(job, 0.0) for job in BACKLOG]).result(timeout=10)
        for push in PUSHES:  # arrive last
            enqueuer.enqueue(push)
    finally:
        enqueuer.close()
    depth = queue_depth(settings)  # both queues count; the backlog is told apart
    assert (depth.waiting, depth.backlog) == (len(BACKLOG) + len(PUSHES), len(BACKLOG))
    taken = _taken_order(settings, listed)
    # Both pushes first: a round robin would alternate (push, backlog, push, ...).
    assert taken[:2] == [push.repo for push in PUSHES]
    assert sorted(taken[2:]) == sorted(job.repo for job in BACKLOG)


def test_redis_hands_out_a_push_before_the_backlog(redis_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", broker_url=redis_url)
    enqueuer = RedisEnqueuer(redis_url)
    client = enqueuer._redis()
    client.delete(*SCAN_QUEUES)
    for job in BACKLOG:
        enqueuer.enqueue(job)
    for push in PUSHES:
        enqueuer.enqueue(push)
    depth = queue_depth(settings)
    assert (depth.waiting, depth.backlog) == (len(BACKLOG) + len(PUSHES), len(BACKLOG))
    taken = _taken_order(settings, SCAN_QUEUES)  # the worker consumes in its -Q order
    # Redis pops from the end of a list: the pushes come out oldest first, before any backlog.
    assert taken[:2] == [push.repo for push in PUSHES]
    assert sorted(taken[2:]) == sorted(job.repo for job in BACKLOG)
