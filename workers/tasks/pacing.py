"""Pacing on the forge's own rate-limit headers, shared by every worker through the state store.

Each scan ends by recording the window its forge answers described (`x-ratelimit-*` on GitHub,
per installation; `RateLimit-*` on GitLab, per token). A scan about to start reads it back: an
onboarding scan waits for the window's reset once the budget is down to a reserve kept for
pushes, and a push waits only when the budget is all but spent. So an organization's backlog
never runs the installation into 403s, and what people push still gets scanned meanwhile.
"""

from __future__ import annotations

import random

from workers.jobs import BACKLOG_QUEUE, ScanJob
from workers.runtime.rate_budget import NAMESPACE, RateBudget, recorded
from workers.runtime.state import State

UNINSTALLED = "token"  # budget key of a forge without installations (GitLab, a GitHub token)
# What a scan costs at most, roughly: a first scan of the benchmark repository is ~11 calls on
# GitHub and ~27 on GitLab (bench/bench_api_calls.py); writes add a few.
SCAN_CALLS = 30
BACKLOG_RESERVE_FRACTION = 0.2  # the share of a window onboarding leaves for pushes


class Paced(Exception):
    """The scan must wait for the rate-limit window to refill."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


def budget_key(job: ScanJob) -> str:
    return UNINSTALLED if job.installation_id is None else str(job.installation_id)


def reserve(job: ScanJob, budget: RateBudget) -> int:
    """Calls that must be left in the window for this scan to start now: onboarding keeps a
    fifth of the window (at least two scans' worth) for pushes, but never more than half, so a
    small window still onboards."""
    if job.queue == BACKLOG_QUEUE:
        wanted = max(2 * SCAN_CALLS, int(budget.limit * BACKLOG_RESERVE_FRACTION))
        return min(wanted, budget.limit // 2)
    return min(SCAN_CALLS, budget.limit // 4)


def wait_seconds(job: ScanJob, budget: RateBudget | None, now: float) -> float | None:
    """How long `job` should wait for its window to refill; None when it may start now."""
    if budget is None or budget.reset_at <= now:
        return None  # never told, or the window has refilled since
    if budget.remaining >= reserve(job, budget):
        return None
    return budget.reset_at - now


def check(state: State, job: ScanJob, now: float, spread_seconds: float) -> None:
    """Raise Paced when `job` must wait for its forge's rate-limit window (then to start at
    the reset plus up to `spread_seconds`, so paced scans do not all start at once)."""
    budget = recorded(state.numbers(NAMESPACE), job.forge, budget_key(job))
    wait = wait_seconds(job, budget, now)
    if wait is not None and budget is not None:
        delay = wait + random.uniform(0, spread_seconds)  # noqa: S311 (spreading, not secrecy)
        raise Paced(
            f"{budget.remaining} of {budget.limit} requests left until the window resets;"
            f" {'onboarding scans keep' if job.queue == BACKLOG_QUEUE else 'scans keep'}"
            f" {reserve(job, budget)} in reserve",
            delay,
        )
