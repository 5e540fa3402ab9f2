"""bot.webhooks.enqueue: the embedded writer and the Celery enqueuer put real messages, in the
form the Celery worker consumes, on the real embedded broker."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from bot.webhooks.enqueue import (
    CeleryEnqueuer,
    EmbeddedEnqueuer,
    InMemoryEnqueuer,
    RedisEnqueuer,
    enqueuer_for,
    scan_message,
)
from workers.jobs import SCAN_QUEUE, SCAN_TASK, ScanJob
from workers.runtime.group_commit import CommitterClosed
from workers.runtime.queue_depth import queue_depth
from workers.runtime.settings import Settings
from workers.runtime.sqlite_queue import NewMessage, SqliteQueue

JOB = ScanJob(
    forge="github",
    repo="octo/app",
    reason="push",
    head_sha="a" * 40,
    installation_id=7,
    delivery_id="d-1",
)


def _receive_one(broker_url: str) -> Any:
    from celery import Celery

    import workers.runtime.sqlite_transport  # noqa: F401  (registers the embedded scheme)

    with Celery(broker=broker_url).connection_for_read() as connection:
        queue = connection.SimpleQueue(SCAN_QUEUE)  # the queue the workers consume
        message = queue.get(timeout=10)
        message.ack()
        queue.close()
        return message


def _sent_by_celery(broker_url: str, countdown: float | None = None) -> Any:
    """What `send_task` itself stores for the job: the reference the embedded writer matches."""
    CeleryEnqueuer(broker_url).enqueue(JOB, countdown=countdown or 0.0)
    return _receive_one(broker_url)


def test_embedded_enqueuer_stores_what_celery_would_send(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    enqueuer = enqueuer_for(settings)
    assert isinstance(enqueuer, EmbeddedEnqueuer)
    before = time.time()
    enqueuer.enqueue(JOB)
    message = _receive_one(settings.effective_broker_url)
    assert message.headers["task"] == SCAN_TASK
    args, kwargs, embed = message.decode()
    assert kwargs == {}
    sent = ScanJob.from_dict(args[0])
    assert sent.due_at is not None and before <= sent.due_at <= time.time()  # for queue wait
    assert replace(sent, due_at=None) == JOB
    assert message.headers["eta"] is None
    reference = _sent_by_celery(settings.effective_broker_url)
    assert set(message.headers) == set(reference.headers)
    assert set(message.properties) == set(reference.properties)
    assert embed == reference.decode()[2]
    assert message.delivery_info["routing_key"] == reference.delivery_info["routing_key"]


def test_celery_enqueuer_sends_the_scan_task_with_the_job(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    before = time.time()
    message = _sent_by_celery(settings.effective_broker_url)
    assert message.headers["task"] == SCAN_TASK
    sent = ScanJob.from_dict(message.decode()[0][0])
    assert sent.due_at is not None and before <= sent.due_at <= time.time()
    assert replace(sent, due_at=None) == JOB


def _stored(path: Path) -> list[tuple[float, dict[str, Any]]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT available_at, payload FROM messages").fetchall()
    return [(due, json.loads(payload)) for due, payload in rows]


def test_countdown_becomes_an_eta_and_the_due_time(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    before = time.time()
    enqueuer_for(settings).enqueue(JOB, countdown=30.0)
    CeleryEnqueuer(settings.effective_broker_url).enqueue(JOB, countdown=30.0)
    stored = _stored(tmp_path / "data" / "queue.sqlite")
    assert len(stored) == 2
    for available_at, message in stored:  # the embedded writer's, then send_task's
        assert message["headers"]["eta"] is not None
        assert available_at >= before + 30  # held in the queue until due
        body = json.loads(base64.b64decode(message["body"]))
        due_at = ScanJob.from_dict(body[0][0]).due_at
        assert due_at is not None and due_at >= before + 30
    assert queue_depth(settings).waiting == 0  # not due yet


def test_embedded_enqueuer_writes_concurrent_deliveries_durably(tmp_path: Path) -> None:
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    jobs = [replace(JOB, delivery_id=f"d-{number}") for number in range(200)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(enqueuer.enqueue, jobs))
    enqueuer.close()
    stored = _stored(tmp_path / "queue.sqlite")
    delivered = {
        json.loads(base64.b64decode(message["body"]))[0][0]["delivery_id"] for _, message in stored
    }
    assert delivered == {job.delivery_id for job in jobs}


def test_embedded_enqueuer_raises_when_the_queue_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    enqueuer = EmbeddedEnqueuer(blocker / "queue.sqlite")
    with pytest.raises(Exception):  # noqa: B017  (any error: the receiver answers 503)
        enqueuer.ping()
    with pytest.raises(Exception):  # noqa: B017
        enqueuer.enqueue(JOB)


def test_a_delivery_s_jobs_are_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions: list[int] = []
    put_many = SqliteQueue.put_many

    def counted(store: SqliteQueue, messages: Sequence[NewMessage]) -> None:
        transactions.append(len(messages))
        put_many(store, messages)

    monkeypatch.setattr(SqliteQueue, "put_many", counted)
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    jobs = [(replace(JOB, repo=f"octo/repo-{n}"), n * 7.5) for n in range(1000)]
    enqueuer.enqueue_all_soon(jobs).result(timeout=30)
    enqueuer.close()
    assert transactions == [1000]  # one commit (one fsync) for the installation's 1,000 scans
    assert len(_stored(tmp_path / "queue.sqlite")) == 1000


def test_a_stopped_queue_writer_fails_readiness_and_deliveries_at_once(tmp_path: Path) -> None:
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    enqueuer.ping()
    enqueuer._writer().close()  # its thread ends, as an unexpected error would end it
    with pytest.raises(CommitterClosed):
        enqueuer.ping()
    with pytest.raises(CommitterClosed):  # at once, not after the delivery's whole wait
        enqueuer.enqueue_soon(JOB)
    enqueuer.close()


def test_redis_enqueuer_pushes_what_celery_would_send(redis_url: str) -> None:
    settings = Settings(broker_url=redis_url)
    enqueuer = enqueuer_for(settings)
    assert isinstance(enqueuer, RedisEnqueuer)
    _clear(redis_url)
    enqueuer.ping()
    enqueuer.enqueue(JOB)
    message = _receive_one(redis_url)  # through kombu's Redis transport, as the worker reads
    assert message.headers["task"] == SCAN_TASK
    args, _, embed = message.decode()
    assert replace(ScanJob.from_dict(args[0]), due_at=None) == JOB
    reference = _sent_by_celery(redis_url)
    assert set(message.headers) == set(reference.headers)
    assert set(message.properties) == set(reference.properties)
    assert embed == reference.decode()[2]
    assert message.delivery_info["routing_key"] == reference.delivery_info["routing_key"]


def _clear(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(SCAN_QUEUE)
    client.close()


def test_importing_the_receiver_loads_no_celery_forge_or_yaml_library() -> None:
    code = (
        "import sys, bot.main, bot.webhooks.enqueue\n"
        "bot.webhooks.enqueue.CeleryEnqueuer('redis://127.0.0.1:1/0')\n"
        "roots = {name.split('.')[0] for name in sys.modules}\n"
        "heavy = {'celery', 'kombu', 'github', 'gitlab', 'yaml', 'ruamel', 'redis'}\n"
        "print(sorted(roots & heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("countdown", [0.0, 30.0])
def test_a_scan_message_carries_the_job_as_to_dict_with_its_due_time(countdown: float) -> None:
    _, stored, eta = scan_message(JOB, countdown)
    message = orjson.loads(stored)
    args, kwargs, _ = orjson.loads(base64.b64decode(message["body"]))
    due_at = args[0]["due_at"]
    assert args == [replace(JOB, due_at=due_at).to_dict()] and kwargs == {}
    assert eta == (due_at if countdown else None)


def test_in_memory_enqueuer_records_jobs_and_countdowns() -> None:
    enqueuer = InMemoryEnqueuer()
    enqueuer.enqueue(JOB)
    enqueuer.enqueue(JOB, countdown=5.0)
    assert enqueuer.queued == [(JOB, 0.0), (JOB, 5.0)]
    assert enqueuer.jobs == [JOB, JOB]
