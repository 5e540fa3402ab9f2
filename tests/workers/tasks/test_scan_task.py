"""The Celery task around a scan: locks, concurrency caps, retry timing, hands-off memory."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from prometheus_client import generate_latest

from tests.fakeforge import FakeForge
from tests.forge_subjects import INSTALLATION_ID, POD, REPO
from workers.core.explain import parse_marker
from workers.forge.base import RateLimited, Transient
from workers.jobs import SCAN_TASK, ScanJob
from workers.runtime.activity import open_activity
from workers.runtime.logs import WORKER_LOGGER_NAME, JsonFormatter
from workers.runtime.metrics import DeliveryMetrics
from workers.runtime.settings import Settings
from workers.runtime.state import SCANNED, LockHeld, open_state
from workers.scan import run as run_module
from workers.tasks.celery_app import make_celery
from workers.tasks.scan_task import MAX_RETRIES, Worker, retry_delay, retry_limit

JOB = ScanJob(forge="github", repo=REPO, reason="push", installation_id=INSTALLATION_ID)


def test_scan_marks_the_repository_scanned(settings: Settings, fake_forge: FakeForge) -> None:
    worker = Worker(settings)
    assert not worker.state.is_marked(SCANNED, JOB.lock_key)
    outcome = worker.scan(JOB)
    assert outcome.action == "opened"
    assert worker.state.is_marked(SCANNED, JOB.lock_key)
    assert len(fake_forge.change_requests(REPO)) == 1


def test_one_scan_per_repository_at_a_time(settings: Settings) -> None:
    worker = Worker(settings)
    with worker.state.lock(f"repo:{JOB.lock_key}", 60), pytest.raises(LockHeld):
        worker.scan(JOB)


def test_installation_concurrency_cap(settings: Settings) -> None:
    worker = Worker(settings)
    with worker.state.lock(f"installation:{INSTALLATION_ID}:0", 60), pytest.raises(LockHeld):
        worker.scan(JOB)


def test_retry_delays() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    limited = RateLimited("limited", now + timedelta(seconds=90))
    assert 90 <= retry_delay(limited, 0, now=now) <= 95
    assert 1 <= retry_delay(RateLimited("past", now - timedelta(hours=1)), 0, now=now) <= 6
    assert all(0 <= retry_delay(Transient("502"), 3) <= 16 for _ in range(50))
    assert all(retry_delay(Transient("502"), 30) <= 600 for _ in range(50))
    busy = retry_delay(LockHeld("busy"), 0, busy_seconds=15)
    assert 15 <= busy <= 20


class RetryRequested(Exception):
    pass


def test_task_retries_when_the_repository_is_busy(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_celery(settings)
    task = app.tasks[SCAN_TASK]
    requested: list[float] = []

    def retry(*, exc: Exception, countdown: float, **_: object) -> RetryRequested:
        assert isinstance(exc, LockHeld)
        requested.append(countdown)
        return RetryRequested()

    # Eager execution would re-run a retry at once; what matters is what the task asks for.
    monkeypatch.setattr(task, "retry", retry)
    worker = Worker(settings)
    with worker.state.lock(f"repo:{JOB.lock_key}", 60), pytest.raises(RetryRequested):
        task.run(JOB.to_dict())
    assert len(requested) == 1 and requested[0] >= settings.busy_retry_seconds
    assert task.run(JOB.to_dict())["action"] == "opened"


def _metrics_text(settings: Settings) -> str:
    state = open_state(settings)
    try:
        return generate_latest(DeliveryMetrics(state).registry).decode()
    finally:
        state.close()


def test_tasks_add_their_metrics_to_the_shared_state(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make_celery(settings).tasks[SCAN_TASK]
    due = replace(JOB, due_at=time.time() - 3)  # due three seconds ago
    assert task.run(due.to_dict())["action"] == "opened"
    assert task.run(JOB.to_dict())["action"] == "unchanged"
    gone = ScanJob(forge="github", repo="acme/deleted", reason="push", installation_id=None)
    task.run(gone.to_dict())
    monkeypatch.setattr(task, "retry", lambda **_: RetryRequested())
    with Worker(settings).state.lock(f"repo:{JOB.lock_key}", 60), pytest.raises(RetryRequested):
        task.run(JOB.to_dict())
    text = _metrics_text(settings)
    assert 'pullpolicy_scans_total{forge="github",outcome="opened"} 1.0' in text
    assert 'pullpolicy_scans_total{forge="github",outcome="unchanged"} 1.0' in text
    assert 'pullpolicy_scans_total{forge="github",outcome="dropped"} 1.0' in text
    assert 'pullpolicy_scan_retries_total{forge="github",reason="busy"} 1.0' in text
    assert 'pullpolicy_pull_requests_total{action="opened",forge="github"} 1.0' in text
    assert 'pullpolicy_findings_total{forge="github"} 2.0' in text  # one finding, seen twice
    assert 'pullpolicy_scan_duration_seconds_count{forge="github"} 2.0' in text
    # Only the job that said when it was due has a queue wait, of at least its 3 seconds.
    assert 'pullpolicy_scan_queue_wait_seconds_count{forge="github"} 1.0' in text
    assert 'pullpolicy_scan_queue_wait_seconds_bucket{forge="github",le="1.0"} 0.0' in text
    assert 'pullpolicy_scan_queue_wait_seconds_bucket{forge="github",le="5.0"} 1.0' in text
    remaining = (
        f'pullpolicy_forge_rate_limit_remaining{{forge="github",installation="{INSTALLATION_ID}"}}'
    )
    assert remaining in text
    calls = [
        line for line in text.splitlines() if line.startswith("pullpolicy_forge_api_calls_total")
    ]
    assert len(calls) == 1 and float(calls[0].split()[-1]) > 0


def test_a_repository_that_is_gone_is_dropped_not_retried(settings: Settings) -> None:
    task = make_celery(settings).tasks[SCAN_TASK]
    gone = ScanJob(forge="github", repo="acme/deleted", reason="push", installation_id=None)
    result = task.run(gone.to_dict())
    assert result["action"] == "dropped" and "acme/deleted" in result["reason"]


def test_scan_logs_are_structured_and_keyed(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    task = make_celery(settings).tasks[SCAN_TASK]
    job = ScanJob(
        forge="github", repo=REPO, reason="push", installation_id=INSTALLATION_ID, delivery_id="d-7"
    )
    with caplog.at_level(logging.INFO, logger=WORKER_LOGGER_NAME):
        task.run(job.to_dict())
    (finished,) = [r for r in caplog.records if r.getMessage() == "scan finished"]
    entry = json.loads(JsonFormatter().format(finished))
    assert entry["repository"] == REPO and entry["delivery_id"] == "d-7"
    assert entry["action"] == "opened" and entry["findings"] == 1 and entry["api_calls"] > 0
    assert "BEGIN" not in json.dumps(entry)  # no key material


def test_every_task_has_a_soft_and_a_hard_time_limit(settings: Settings) -> None:
    limited = settings.model_copy(
        update={"scan_time_limit_seconds": 42, "scan_time_limit_grace_seconds": 5}
    )
    app = make_celery(limited)
    assert app.conf.task_soft_time_limit == 42
    assert app.conf.task_time_limit == 47  # the process is killed if the scan did not stop


def test_a_timed_out_scan_is_recorded_releases_its_lock_and_is_not_retried(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    task = make_celery(settings).tasks[SCAN_TASK]
    held: list[bool] = []

    def endless(*args: object, **kwargs: object) -> None:
        # What Celery's soft limit does: raise inside the running scan, locks still held.
        held.append(_lock_is_held(settings))
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(run_module, "run", endless)
    monkeypatch.setattr(task, "retry", lambda **_: pytest.fail("a timed-out scan is retried"))
    with caplog.at_level(logging.WARNING, logger=WORKER_LOGGER_NAME):
        result = task.run(JOB.to_dict())
    assert held == [True]
    assert result["action"] == "timed-out"
    assert not _lock_is_held(settings)
    (latest,) = open_activity(settings).latest(1)
    assert latest.outcome == "timed-out" and latest.repository == REPO
    (line,) = [r for r in caplog.records if r.getMessage() == "scan timed out"]
    assert json.loads(JsonFormatter().format(line))["repository"] == REPO
    metrics = _metrics_text(settings)
    assert 'pullpolicy_scans_total{forge="github",outcome="timed-out"} 1.0' in metrics
    assert 'outcome="failed"' not in metrics  # an operator alerting on timeouts can tell them


def _lock_is_held(settings: Settings) -> bool:
    state = open_state(settings)
    try:
        with state.lock(f"repo:{JOB.lock_key}", 60):
            return False
    except LockHeld:
        return True
    finally:
        state.close()


@pytest.mark.parametrize(
    ("error", "retries", "metric"),
    [
        (
            RateLimited("slow down", datetime.now(UTC) + timedelta(seconds=30)),
            0,
            'pullpolicy_scan_retries_total{forge="github",reason="rate-limited"} 1.0',
        ),
        (
            Transient("502 from the forge"),
            3,
            'pullpolicy_scan_retries_total{forge="github",reason="transient"} 1.0',
        ),
        # The last allowed attempt: the scan ends as failed, not as one more retry.
        (
            Transient("502 from the forge"),
            MAX_RETRIES,
            'pullpolicy_scans_total{forge="github",outcome="failed"} 1.0',
        ),
        (
            RateLimited("slow down", datetime.now(UTC)),
            MAX_RETRIES,
            'pullpolicy_scans_total{forge="github",outcome="failed"} 1.0',
        ),
    ],
    ids=["rate-limited", "transient", "transient, last retry", "rate-limited, last retry"],
)
def test_a_forge_error_is_retried_then_failed(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    retries: int,
    metric: str,
) -> None:
    task = make_celery(settings).tasks[SCAN_TASK]
    asked: list[Exception] = []

    def retry(*, exc: Exception, countdown: float, **_: object) -> RetryRequested:
        asked.append(exc)
        return RetryRequested()

    def scan(self: Worker, job: ScanJob) -> None:
        raise error

    monkeypatch.setattr(task, "retry", retry)
    monkeypatch.setattr(Worker, "scan", scan)
    task.push_request(retries=retries)
    try:
        with pytest.raises(RetryRequested):
            task.run(JOB.to_dict())
    finally:
        task.pop_request()
    assert asked == [error]  # Celery raises the error itself once max_retries is reached
    text = _metrics_text(settings)
    assert metric in text
    others = [
        line
        for line in text.splitlines()
        if line.startswith(("pullpolicy_scans_total{", "pullpolicy_scan_retries_total{"))
    ]
    assert others == [metric]


def test_a_busy_repository_is_retried_until_a_dead_workers_lock_has_expired(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker killed mid-scan keeps the repository's lock for scan_lock_seconds, while RabbitMQ
    # and the embedded queue hand its scan back at once: giving up on "busy" before the lock
    # expires would lose the scan.
    task = make_celery(settings).tasks[SCAN_TASK]
    limit = retry_limit(LockHeld("repo:x"), settings)
    assert limit * settings.busy_retry_seconds >= settings.scan_lock_seconds
    asked: list[int | None] = []

    def retry(*, exc: Exception, countdown: float, max_retries: int | None = None) -> Exception:
        asked.append(max_retries)
        return RetryRequested()

    def busy(self: Worker, job: ScanJob) -> None:
        raise LockHeld("repo:x")

    monkeypatch.setattr(task, "retry", retry)
    monkeypatch.setattr(Worker, "scan", busy)
    for retries, outcome in [(MAX_RETRIES, "busy"), (limit, "failed")]:
        task.push_request(retries=retries)
        try:
            with pytest.raises(RetryRequested):
                task.run(JOB.to_dict())
        finally:
            task.pop_request()
        assert asked[-1] == limit  # Celery ends it only once this many retries were made
        assert outcome in _metrics_text(settings)
    assert retry_limit(Transient("502"), settings) == MAX_RETRIES


def _review_job(fake_forge: FakeForge) -> ScanJob:
    number = fake_forge.open_pull(REPO, "feature", {"k8s/pod.yaml": POD})
    return ScanJob(
        forge="github",
        repo=REPO,
        reason="review",
        installation_id=INSTALLATION_ID,
        pr_number=number,
        base_branch="main",
    )


def test_a_review_job_reviews_the_pull_request_and_opens_no_fix(
    settings: Settings, fake_forge: FakeForge
) -> None:
    job = _review_job(fake_forge)
    outcome = Worker(settings).scan(job)
    assert (outcome.action, outcome.findings) == ("reviewed", 1)
    assert len(fake_forge.diff_comments(REPO, job.pr_number or 0)) == 1
    assert [r.number for r in fake_forge.change_requests(REPO)] == [job.pr_number]


def test_reviews_of_one_pull_request_never_overlap(
    settings: Settings, fake_forge: FakeForge
) -> None:
    job = _review_job(fake_forge)
    worker = Worker(settings)
    with worker.state.lock(f"review:{job.review_key}", 60), pytest.raises(LockHeld):
        worker.scan(job)
    with worker.state.lock(f"repo:{job.lock_key}", 60):  # a scan of the repository: no wait
        assert worker.scan(job).action == "reviewed"


def test_a_fix_ignored_in_a_review_is_declined_by_the_worker_once_merged(
    settings: Settings, fake_forge: FakeForge
) -> None:
    """The worker keeps a review's declines in its state and hands them to the next scan."""
    job = _review_job(fake_forge)
    number = job.pr_number or 0
    worker = Worker(settings)
    worker.scan(job)
    (comment,) = fake_forge.diff_comments(REPO, number)
    fake_forge.reply_to_comment(REPO, number, comment.id, "pullpolicy: ignore")
    assert worker.scan(job).findings == 0
    fake_forge.merge(REPO, number)
    outcome = worker.scan(JOB)
    assert (outcome.action, outcome.findings) == ("opened", 1)
    (fix,) = [r for r in fake_forge.change_requests(REPO) if r.number != number]
    marker = parse_marker(fix.body)
    assert marker is not None and len(marker[1]) == 1  # pod.yaml's Pod, not k8s/pod.yaml's
    assert "`k8s/pod.yaml` line" in fix.body and "declined: " in fix.body
