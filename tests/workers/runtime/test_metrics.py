"""Prometheus metrics: shared totals from every worker, rendered by the web's registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from workers.runtime.metrics import DeliveryMetrics, SharedMetrics
from workers.runtime.state import SqliteState, State


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    opened = SqliteState(tmp_path / "state.sqlite")
    yield opened
    opened.close()


def _samples(metrics: DeliveryMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_scans_from_two_workers_add_up_in_the_web_registry(state: State, tmp_path: Path) -> None:
    web = DeliveryMetrics(state)
    other_worker = SharedMetrics(SqliteState(tmp_path / "state.sqlite"))  # another process
    web.shared.scan_finished(
        "github", "opened", findings=3, api_calls=20, duration=2.0, queue_wait=0.2
    )
    other_worker.scan_finished(
        "github", "unchanged", findings=3, api_calls=5, duration=40.0, queue_wait=None
    )
    other_worker.pull_request_declined("github")
    samples = _samples(web)
    assert samples[("pullpolicy_scans_total", (("forge", "github"), ("outcome", "opened")))] == 1
    assert samples[("pullpolicy_scans_total", (("forge", "github"), ("outcome", "unchanged")))] == 1
    assert samples[("pullpolicy_findings_total", (("forge", "github"),))] == 6
    assert samples[("pullpolicy_forge_api_calls_total", (("forge", "github"),))] == 25
    opened = ("pullpolicy_pull_requests_total", (("action", "opened"), ("forge", "github")))
    declined = ("pullpolicy_pull_requests_total", (("action", "declined"), ("forge", "github")))
    assert samples[opened] == 1 and samples[declined] == 1
    assert (
        "pullpolicy_pull_requests_total",
        (("action", "unchanged"), ("forge", "github")),
    ) not in samples
    duration = "pullpolicy_scan_duration_seconds"
    assert samples[(f"{duration}_count", (("forge", "github"),))] == 2
    assert samples[(f"{duration}_sum", (("forge", "github"),))] == 42.0
    assert samples[(f"{duration}_bucket", (("forge", "github"), ("le", "2.5")))] == 1
    assert samples[(f"{duration}_bucket", (("forge", "github"), ("le", "60.0")))] == 2
    assert samples[(f"{duration}_bucket", (("forge", "github"), ("le", "+Inf")))] == 2
    wait = "pullpolicy_scan_queue_wait_seconds"
    assert samples[(f"{wait}_count", (("forge", "github"),))] == 1  # only the first scan had one
    assert samples[("pullpolicy_shared_metrics_up", ())] == 1


def test_early_endings_and_rate_limits(state: State) -> None:
    web = DeliveryMetrics(state)
    web.shared.scan_ended_early("gitlab", "dropped", api_calls=1)
    web.shared.scan_ended_early("github", "rate-limited", api_calls=2)
    web.shared.rate_limits("github", {"12": 4900, "34": 10})
    web.shared.rate_limits("github", {"12": 4800})
    samples = _samples(web)
    assert samples[("pullpolicy_scans_total", (("forge", "gitlab"), ("outcome", "dropped")))] == 1
    retries = ("pullpolicy_scan_retries_total", (("forge", "github"), ("reason", "rate-limited")))
    assert samples[retries] == 1
    remaining = "pullpolicy_forge_rate_limit_remaining"
    assert samples[(remaining, (("forge", "github"), ("installation", "12")))] == 4800
    assert samples[(remaining, (("forge", "github"), ("installation", "34")))] == 10


def test_deliveries_are_counted_per_process(state: State) -> None:
    web = DeliveryMetrics(state)
    web.delivery("github", "push", "queued")
    web.delivery("github", "push", "queued")
    web.delivery("gitlab", None, "unauthorized")
    samples = _samples(web)
    key = "pullpolicy_webhook_deliveries_total"
    assert samples[(key, (("event", "push"), ("forge", "github"), ("outcome", "queued")))] == 2
    assert samples[(key, (("event", ""), ("forge", "gitlab"), ("outcome", "unauthorized")))] == 1


class BrokenState(SqliteState):
    def numbers(self, namespace: str) -> dict[str, float]:
        raise ConnectionError("redis://user:hunter2@redis:6379 unreachable")


def test_an_unreadable_state_still_answers_the_scrape_without_the_url(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    web = DeliveryMetrics(BrokenState(tmp_path / "state.sqlite"))
    web.delivery("github", "push", "queued")
    text = generate_latest(web.registry).decode()
    assert "pullpolicy_shared_metrics_up 0.0" in text
    assert "pullpolicy_webhook_deliveries_total" in text
    assert "hunter2" not in text and "hunter2" not in caplog.text
