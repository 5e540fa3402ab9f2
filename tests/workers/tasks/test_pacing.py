"""Pacing on the forge's rate-limit headers: onboarding scans stop at a reserve kept for
pushes, pushes only when the window is all but spent, and a paced scan makes no call."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from tests.fakeforge import FakeForge
from tests.forge_subjects import INSTALLATION_ID, REPO
from workers.jobs import SCAN_TASK, ScanJob
from workers.runtime import rate_budget
from workers.runtime.metrics import DeliveryMetrics
from workers.runtime.rate_budget import RateBudget
from workers.runtime.settings import Settings
from workers.runtime.state import SqliteState, open_state
from workers.tasks import pacing
from workers.tasks.celery_app import make_celery
from workers.tasks.scan_task import MAX_PACED_RETRIES, Worker

PUSH = ScanJob(forge="github", repo=REPO, reason="push", installation_id=INSTALLATION_ID)
ONBOARDING = ScanJob(
    forge="github", repo=REPO, reason="installation", installation_id=INSTALLATION_ID
)
NOW = 1_000_000.0


def test_onboarding_waits_at_its_reserve_while_pushes_go_on() -> None:
    window = RateBudget(remaining=999, limit=5000, reset_at=NOW + 600)  # reserve: 1,000
    assert pacing.wait_seconds(ONBOARDING, window, NOW) == 600
    assert pacing.wait_seconds(PUSH, window, NOW) is None
    plenty = RateBudget(remaining=1000, limit=5000, reset_at=NOW + 600)
    assert pacing.wait_seconds(ONBOARDING, plenty, NOW) is None


def test_pushes_wait_only_when_the_window_is_all_but_spent() -> None:
    spent = RateBudget(remaining=pacing.SCAN_CALLS - 1, limit=5000, reset_at=NOW + 60)
    assert pacing.wait_seconds(PUSH, spent, NOW) == 60


def test_onboarding_keeps_two_scans_in_reserve_but_never_more_than_half_a_window() -> None:
    window = RateBudget(remaining=2 * pacing.SCAN_CALLS - 1, limit=200, reset_at=NOW + 60)
    assert pacing.wait_seconds(ONBOARDING, window, NOW) == 60  # a fifth is 40: 60 are kept
    half = RateBudget(remaining=49, limit=100, reset_at=NOW + 60)
    assert pacing.wait_seconds(ONBOARDING, half, NOW) == 60
    assert pacing.wait_seconds(ONBOARDING, replace(half, remaining=50), NOW) is None
    tiny = RateBudget(remaining=8, limit=30, reset_at=NOW + 60)  # pushes keep a quarter
    assert pacing.wait_seconds(PUSH, tiny, NOW) is None
    assert pacing.wait_seconds(PUSH, replace(tiny, remaining=6), NOW) == 60


def test_a_window_that_has_reset_or_was_never_seen_never_waits() -> None:
    past = RateBudget(remaining=0, limit=5000, reset_at=NOW - 1)
    assert pacing.wait_seconds(PUSH, past, NOW) is None
    assert pacing.wait_seconds(ONBOARDING, None, NOW) is None


def test_the_reserves_boundaries_start_now() -> None:
    window = RateBudget(remaining=2 * pacing.SCAN_CALLS, limit=200, reset_at=NOW + 60)
    assert pacing.wait_seconds(ONBOARDING, window, NOW) is None  # exactly two scans' worth
    odd = RateBudget(remaining=50, limit=101, reset_at=NOW + 60)
    assert pacing.wait_seconds(ONBOARDING, odd, NOW) is None
    # Reserves are whole calls: a fifth of 5,004 keeps 1,000, half of 101 keeps 50, a quarter of
    # 30 keeps 7.
    fifth = RateBudget(remaining=1000, limit=5004, reset_at=NOW + 60)
    assert pacing.wait_seconds(ONBOARDING, fifth, NOW) is None
    quarter = RateBudget(remaining=7, limit=30, reset_at=NOW + 60)
    assert pacing.wait_seconds(PUSH, quarter, NOW) is None


def test_a_window_resetting_right_now_never_waits() -> None:
    now = RateBudget(remaining=0, limit=5000, reset_at=NOW)
    assert pacing.wait_seconds(PUSH, now, NOW) is None


def _state_with(tmp_path: Path, who: str, budget: RateBudget) -> SqliteState:
    state = SqliteState(tmp_path / "state.sqlite")
    rate_budget.record(state, "github", {who: budget})
    return state


def _paced(state: SqliteState, job: ScanJob, spread: float) -> pacing.Paced:
    with pytest.raises(pacing.Paced) as caught:
        pacing.check(state, job, NOW, spread)
    return caught.value


def test_a_paced_scan_waits_for_the_reset_and_says_what_is_kept(tmp_path: Path) -> None:
    low = RateBudget(remaining=500, limit=5000, reset_at=NOW + 900)
    state = _state_with(tmp_path, str(INSTALLATION_ID), low)
    paced = _paced(state, ONBOARDING, 0)
    assert paced.delay == 900
    assert str(paced) == (
        "500 of 5000 requests left until the window resets; onboarding scans keep 1000 in reserve"
    )
    pacing.check(state, PUSH, NOW, 0)  # pushes still have their reserve: no raise
    rate_budget.record(state, "github", {str(INSTALLATION_ID): replace(low, remaining=29)})
    assert str(_paced(state, PUSH, 0)) == (
        "29 of 5000 requests left until the window resets; scans keep 30 in reserve"
    )
    state.close()


def test_paced_scans_spread_after_the_reset(tmp_path: Path) -> None:
    low = RateBudget(remaining=500, limit=5000, reset_at=NOW + 900)
    state = _state_with(tmp_path, str(INSTALLATION_ID), low)
    delays = [_paced(state, ONBOARDING, 60).delay for _ in range(20)]
    assert all(900 <= delay <= 960 for delay in delays)
    assert len(set(delays)) > 1  # spread, not one instant for all
    state.close()


def test_a_job_without_an_installation_paces_on_the_tokens_window(tmp_path: Path) -> None:
    job = replace(ONBOARDING, installation_id=None)
    low = RateBudget(remaining=0, limit=5000, reset_at=NOW + 900)
    state = _state_with(tmp_path, pacing.UNINSTALLED, low)
    assert _paced(state, job, 0).delay == 900
    pacing.check(state, ONBOARDING, NOW, 0)  # the installation's own window was never seen
    state.close()


def test_a_scan_shares_the_window_its_forge_described(settings: Settings) -> None:
    worker = Worker(settings)
    worker.scan(PUSH)
    numbers = worker.state.numbers(rate_budget.NAMESPACE)
    budget = rate_budget.recorded(numbers, "github", str(INSTALLATION_ID))
    assert budget is not None
    assert budget.limit == 5000 and 0 < budget.remaining < budget.limit  # the fake's headers
    assert budget.reset_at > time.time()


class RetryRequested(Exception):
    pass


def test_a_paced_scan_is_deferred_until_the_reset_without_a_call(
    settings: Settings, fake_forge: FakeForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make_celery(settings).tasks[SCAN_TASK]
    requested: list[tuple[float, int]] = []

    def retry(*, exc: Exception, countdown: float, max_retries: int, **_: object) -> Exception:
        requested.append((countdown, max_retries))
        return RetryRequested()

    monkeypatch.setattr(task, "retry", retry)
    state = open_state(settings)
    reset = time.time() + 900
    low = RateBudget(remaining=500, limit=5000, reset_at=reset)
    rate_budget.record(state, "github", {str(INSTALLATION_ID): low})
    fake_forge.reset_requests()
    with pytest.raises(RetryRequested):
        task.run(ONBOARDING.to_dict())
    assert fake_forge.requests == []  # paced before the first call
    ((countdown, max_retries),) = requested
    assert 900 - 5 <= countdown <= 900 + settings.pacing_spread_seconds
    assert max_retries == MAX_PACED_RETRIES
    assert task.run(PUSH.to_dict())["action"] == "opened"  # pushes still have their reserve
    text = generate_latest(DeliveryMetrics(state).registry).decode()
    assert 'pullpolicy_scan_retries_total{forge="github",reason="paced"} 1.0' in text
    state.close()


def test_pacing_can_be_switched_off_for_a_forge_without_rate_limits(settings: Settings) -> None:
    unpaced = settings.model_copy(update={"pace_on_rate_limits": False})
    worker = Worker(unpaced)
    spent = RateBudget(remaining=0, limit=5000, reset_at=time.time() + 900)
    rate_budget.record(worker.state, "github", {str(INSTALLATION_ID): spent})
    assert worker.scan(ONBOARDING).action == "opened"
