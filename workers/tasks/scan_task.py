"""Thin Celery tasks: decode the job, take the repository's lock, run the scan, retry wisely."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded

from workers.forge.base import (
    NotFound,
    PermissionDenied,
    RateLimited,
    RepoRef,
    ReviewForge,
    Transient,
)
from workers.forge.factory import open_forge
from workers.jobs import SCAN_TASK, ScanJob
from workers.runtime import rate_budget
from workers.runtime.activity import ScanRecorder
from workers.runtime.logs import WORKER_LOGGER_NAME
from workers.runtime.metrics import SharedMetrics
from workers.runtime.settings import Settings, with_stored_github_app
from workers.runtime.state import SCANNED, LockHeld, State, open_state
from workers.scan import review_declines
from workers.scan import run as scan
from workers.scan.pr import Action
from workers.scan.report_cache import ReportCache
from workers.scan.review import review
from workers.scan.run import ScanOutcome
from workers.tasks import pacing
from workers.tasks.pacing import Paced

log = logging.getLogger(WORKER_LOGGER_NAME)

MAX_RETRIES = 10
# A paced scan waits for a refill, not for a fault to clear: onboarding an organization at
# 5,000 requests an hour may defer a scan through several windows.
MAX_PACED_RETRIES = 48
HANDS_OFF = "hands-off-commented"
TIMED_OUT = "timed-out"


class Worker:
    """What a worker process keeps between tasks: settings, state and forge adapters."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._state: State | None = None
        self._forges: dict[str, ReviewForge] = {}
        self.reports = ReportCache()

    @property
    def state(self) -> State:
        if self._state is None:
            self._state = open_state(self.settings)
        return self._state

    @property
    def metrics(self) -> SharedMetrics:
        return SharedMetrics(self.state)

    def api_calls(self, forge: str) -> int:
        """Requests made so far through the `forge` adapter (0 before its first use)."""
        return self._forges[forge].api_calls if forge in self._forges else 0

    def forge(self, name: str) -> ReviewForge:
        if name not in self._forges:  # adapters cache installation tokens: keep them
            # The GitHub App that /setup stores while this worker runs is read here, so the
            # worker needs no restart (until an adapter is built, each GitHub scan looks).
            self._forges[name] = open_forge(with_stored_github_app(self.settings), name)
        return self._forges[name]

    def scan(self, job: ScanJob) -> ScanOutcome:
        """Scan, or review a pull request. Raises LockHeld when another worker scans this
        repository (reviews this PR) or the installation is at its concurrency cap, Paced when
        its rate-limit window is spent (before any call)."""
        if self.settings.pace_on_rate_limits:
            pacing.check(self.state, job, time.time(), self.settings.pacing_spread_seconds)
        try:
            return self._review(job) if job.is_review else self._scan(job)
        finally:
            if job.forge in self._forges:  # what the forge's answers said of the window
                budgets = self._forges[job.forge].rate_limits()
                _observe(lambda: rate_budget.record(self.state, job.forge, budgets))
                remaining = {who: budget.remaining for who, budget in budgets.items()}
                _observe(lambda: self.metrics.rate_limits(job.forge, remaining))

    def _scan(self, job: ScanJob) -> ScanOutcome:
        with ExitStack() as held:
            held.enter_context(
                self.state.lock(f"repo:{job.lock_key}", self.settings.scan_lock_seconds)
            )
            if job.installation_id is not None:
                self._take_installation_slot(held, job.installation_id)
            forge = self.forge(job.forge)
            repo = RepoRef(job.forge, job.repo, job.installation_id)
            outcome = scan.run(
                forge,
                job,
                hands_off_noted=lambda n: self.state.is_marked(HANDS_OFF, f"{job.lock_key}#{n}"),
                cache=self.reports,
                review_declined=lambda: review_declines.declined(
                    self.state, forge, repo, job.lock_key
                ),
            )
            if outcome.action == Action.HANDS_OFF.value and outcome.pr_number is not None:
                self.state.mark(HANDS_OFF, f"{job.lock_key}#{outcome.pr_number}")
            self.state.mark(SCANNED, job.lock_key)
            return outcome

    def _review(self, job: ScanJob) -> ScanOutcome:
        """Review a person's pull request. Reviews of one pull request never overlap (racing
        synchronize events); they take an installation slot like scans (one rate limit)."""
        with ExitStack() as held:
            held.enter_context(
                self.state.lock(f"review:{job.review_key}", self.settings.scan_lock_seconds)
            )
            if job.installation_id is not None:
                self._take_installation_slot(held, job.installation_id)
            number = job.pr_number or 0
            return review(
                self.forge(job.forge),
                job,
                record_declined=lambda found: review_declines.record(
                    self.state, job.lock_key, number, found
                ),
            )

    def _take_installation_slot(self, held: ExitStack, installation: int) -> None:
        """One of N per-installation slots: GitHub rate-limits per installation."""
        for slot in range(self.settings.max_scans_per_installation):
            key = f"installation:{installation}:{slot}"
            try:
                held.enter_context(self.state.lock(key, self.settings.scan_lock_seconds))
            except LockHeld:
                continue
            return
        raise LockHeld(f"installation {installation} is at its concurrency cap")


def retry_delay(
    error: Exception, retries: int, *, busy_seconds: float = 15.0, now: datetime | None = None
) -> float:
    """Seconds to wait before retrying: the forge's reset time for rate limits, a fixed wait
    (plus jitter) when the repository is busy, otherwise exponential backoff with full jitter
    (capped at ten minutes)."""
    if isinstance(error, Paced):
        return error.delay
    if isinstance(error, RateLimited):
        now = now or datetime.now(UTC)
        return max(1.0, (error.retry_at - now).total_seconds()) + random.uniform(0, 5)  # noqa: S311
    if isinstance(error, LockHeld):
        return busy_seconds + random.uniform(0, busy_seconds / 3)  # noqa: S311
    return random.uniform(0, min(600.0, 2.0 * 2**retries))  # noqa: S311


def register_tasks(app: Celery, settings: Settings) -> None:
    worker = Worker(settings)
    record = ScanRecorder(settings)  # the status page's "latest scans"

    @app.task(name=SCAN_TASK, bind=True, max_retries=MAX_RETRIES, acks_late=True, shared=False)  # type: ignore[untyped-decorator]
    def scan_repository(task: Task, payload: dict[str, Any]) -> dict[str, Any]:
        job = ScanJob.from_dict(payload)
        context = {
            "forge": job.forge,
            "repository": job.repo,
            "delivery_id": job.delivery_id,
            "installation_id": job.installation_id,
            "task_id": task.request.id,
        }
        started = time.monotonic()
        # Queue wait: only for a first attempt, so retry countdowns do not count as waiting.
        waited = time.time() - job.due_at if job.due_at and not task.request.retries else None
        calls_before = worker.api_calls(job.forge)
        try:
            outcome = worker.scan(job)
        except (NotFound, PermissionDenied) as error:
            # The repository is gone or the installation lost access: retrying cannot help.
            log.warning("scan dropped", extra={**context, "reason": str(error)})
            calls = worker.api_calls(job.forge) - calls_before
            _observe(lambda: worker.metrics.scan_ended_early(job.forge, "dropped", api_calls=calls))
            return {"repo": job.repo, "action": "dropped", "reason": str(error)}
        except SoftTimeLimitExceeded:
            # The locks were released on the way out. Not retried: the same input would time
            # out again and hold a worker slot each time.
            reason = f"stopped after the {settings.scan_time_limit_seconds} s time limit"
            log.warning("scan timed out", extra={**context, "action": TIMED_OUT, "reason": reason})
            result = {"repo": job.repo, "action": TIMED_OUT, "reason": reason}
            record(job, result)  # the status page lists it like any finished scan
            calls = worker.api_calls(job.forge) - calls_before
            _observe(lambda: worker.metrics.scan_ended_early(job.forge, TIMED_OUT, api_calls=calls))
            return result
        except (RateLimited, Transient, LockHeld, Paced) as error:
            calls = worker.api_calls(job.forge) - calls_before
            # The last allowed attempt ends the scan: a failed scan, not one more retry.
            limit = retry_limit(error, settings)
            ended = "failed" if task.request.retries >= limit else retry_reason(error)
            _observe(lambda: worker.metrics.scan_ended_early(job.forge, ended, api_calls=calls))
            delay = retry_delay(
                error, task.request.retries, busy_seconds=settings.busy_retry_seconds
            )
            log.warning(
                "scan deferred",
                extra={**context, "reason": str(error), "retry_in": round(delay, 1)},
            )
            raise task.retry(exc=error, countdown=delay, max_retries=limit) from None
        result = asdict(outcome)
        log.info(
            "scan finished", extra={**context, **{k: v for k, v in result.items() if k != "repo"}}
        )
        record(job, result)
        duration = time.monotonic() - started
        _observe(
            lambda: worker.metrics.scan_finished(
                job.forge,
                outcome.action,
                findings=outcome.findings,
                api_calls=outcome.api_calls,
                duration=duration,
                queue_wait=None if waited is None else max(0.0, waited),
            )
        )
        return result


def retry_limit(error: Exception, settings: Settings) -> int:
    """How many retries a scan gets. A busy repository may be locked by a worker that died
    mid-scan: its lock frees only after `scan_lock_seconds`, while RabbitMQ and the embedded
    queue hand the scan back at once, so "busy" is retried at least that long."""
    if isinstance(error, Paced):
        return MAX_PACED_RETRIES
    if isinstance(error, LockHeld):
        wait = max(settings.busy_retry_seconds, 1.0)
        return max(MAX_RETRIES, math.ceil(settings.scan_lock_seconds / wait) + 1)
    return MAX_RETRIES


def retry_reason(error: Exception) -> str:
    """The `reason` label of the retries metric."""
    if isinstance(error, RateLimited):
        return "rate-limited"
    if isinstance(error, Paced):
        return "paced"
    if isinstance(error, LockHeld):
        return "busy"
    return "transient"


def _observe(record: Callable[[], None]) -> None:
    """Metrics are never worth a failed scan: a state hiccup here is logged and forgotten."""
    try:
        record()
    except Exception as error:  # the text may hold a URL with credentials: its type only
        log.warning("could not record metrics", extra={"error": type(error).__name__})
