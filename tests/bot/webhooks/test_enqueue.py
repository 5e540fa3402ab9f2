"""bot.webhooks.enqueue: the Celery enqueuer puts a real message on a real (embedded) broker."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.webhooks.enqueue import CeleryEnqueuer, InMemoryEnqueuer
from workers.jobs import SCAN_QUEUE, SCAN_TASK, ScanJob
from workers.runtime.settings import Settings

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

    with Celery(broker=broker_url).connection_for_read() as connection:
        queue = connection.SimpleQueue(SCAN_QUEUE)  # the queue the workers consume
        message = queue.get(timeout=10)
        message.ack()
        queue.close()
        return message


def test_celery_enqueuer_sends_the_scan_task_with_the_job(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    enqueuer = CeleryEnqueuer.from_settings(settings)
    before = time.time()
    enqueuer.enqueue(JOB)
    message = _receive_one(settings.effective_broker_url)
    assert message.headers["task"] == SCAN_TASK
    args, kwargs, _ = message.decode()
    assert kwargs == {}
    sent = ScanJob.from_dict(args[0])
    assert sent.due_at is not None and before <= sent.due_at <= time.time()  # for queue wait
    assert replace(sent, due_at=None) == JOB
    assert message.headers["eta"] is None


def test_countdown_becomes_an_eta_and_the_due_time(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    before = time.time()
    CeleryEnqueuer.from_settings(settings).enqueue(JOB, countdown=30.0)
    message = _receive_one(settings.effective_broker_url)
    assert message.headers["eta"] is not None
    due_at = ScanJob.from_dict(message.decode()[0][0]).due_at
    assert due_at is not None and due_at >= before + 30


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


def test_in_memory_enqueuer_records_jobs_and_countdowns() -> None:
    enqueuer = InMemoryEnqueuer()
    enqueuer.enqueue(JOB)
    enqueuer.enqueue(JOB, countdown=5.0)
    assert enqueuer.queued == [(JOB, 0.0), (JOB, 5.0)]
    assert enqueuer.jobs == [JOB, JOB]
