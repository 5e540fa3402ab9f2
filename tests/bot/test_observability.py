"""/metrics and /readyz of the web app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.main import create_app
from bot.webhooks import events
from bot.webhooks.enqueue import InMemoryEnqueuer
from tests.bot.helpers import GITLAB_EVENTS, github_event, payload, vendored
from tests.bot.test_app import Harness, make_settings
from workers.config.model import DEFAULT_BRANCH
from workers.runtime.metrics import DELIVERY_EVENTS, SharedMetrics
from workers.runtime.state import SqliteState

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
DELIVERIES = "pullpolicy_webhook_deliveries_total"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    yield made
    made.state.close()


def scrape(harness: Harness) -> Samples:
    answer = harness.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def delivery(
    event: str, outcome: str, forge: str = "github"
) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (DELIVERIES, (("event", event), ("forge", forge), ("outcome", outcome)))


def test_deliveries_are_counted_by_event_and_outcome(harness: Harness) -> None:
    push = payload("github", "push.4")
    assert harness.github("push", push, delivery="d-1").status_code == 202
    assert harness.github("push", push, delivery="d-1").status_code == 200  # redelivered
    assert harness.github("ping", payload("github", "ping.0")).status_code == 200
    for junk in ("push", "junk-1", "junk-2"):  # unsigned: anyone's header values
        headers = {"X-GitHub-Event": junk}
        assert (
            harness.client.post("/webhooks/github", content=b"{}", headers=headers).status_code
            == 401
        )
    samples = scrape(harness)
    assert samples[delivery("push", "queued")] == 1
    assert samples[delivery("push", "duplicate")] == 1
    assert samples[delivery("ping", "ignored")] == 1
    # Unverified deliveries share one series: a caller without the secret cannot add any.
    assert samples[delivery("", "unauthorized")] == 3
    assert not any("junk" in str(labels) for _, labels in samples)


def test_signed_deliveries_with_made_up_event_names_add_no_series(harness: Harness) -> None:
    # The event header is not signed: one genuine body replayed with any header values.
    push = payload("github", "push.4")
    for index in range(50):
        answer = harness.github(f"made-up-{index}", push, delivery=f"replay-{index}")
        assert answer.status_code == 200  # verified, and ignored as an unhandled event
    merge = payload("gitlab", "merge_request")
    assert harness.gitlab("Made Up Hook", merge).status_code == 200
    samples = scrape(harness)
    assert samples[delivery("other", "ignored")] == 50
    assert samples[delivery("other", "ignored", forge="gitlab")] == 1
    assert not any("made" in str(labels).lower() for _, labels in samples)


def test_every_event_the_receiver_handles_keeps_its_own_series() -> None:
    def handled(forge: str, event: str, data: dict[str, object]) -> bool:
        headers = {"X-GitHub-Event": event, "X-Gitlab-Event": event}
        try:
            decision = events.interpret(forge, headers, data, scanned_before=lambda _: False)
        except events.MalformedPayload:
            return True
        return not (
            isinstance(decision, events.Ignored)
            and decision.reason.startswith(events.UNHANDLED_EVENT)
        )

    github = {github_event(name) for name in vendored("github")}
    gitlab = set(GITLAB_EVENTS.values())
    assert {e for e in github if handled("github", e, {})} <= DELIVERY_EVENTS["github"]
    assert {e for e in gitlab if handled("gitlab", e, {})} <= DELIVERY_EVENTS["gitlab"]
    assert "ping" in DELIVERY_EVENTS["github"] and "push" in DELIVERY_EVENTS["github"]


def test_a_person_closing_the_fix_pr_counts_as_declined_once(harness: Harness) -> None:
    pull = payload("github", "pull_request.3")
    pull["pull_request"]["head"]["ref"] = DEFAULT_BRANCH
    pull["pull_request"]["user"]["login"] = "pullpolicy[bot]"  # the bot opened it
    assert harness.github("pull_request", pull, delivery="close-1").status_code == 202
    assert harness.github("pull_request", pull, delivery="close-1").status_code == 200
    by_bot = payload("github", "pull_request.3")
    by_bot["pull_request"]["head"]["ref"] = DEFAULT_BRANCH
    by_bot["pull_request"]["user"]["login"] = by_bot["sender"]["login"]  # closed by its author
    assert harness.github("pull_request", by_bot).status_code == 202
    merge = payload("gitlab", "merge_request")
    merge["object_attributes"].update(action="merge", source_branch=DEFAULT_BRANCH)
    assert harness.gitlab("Merge Request Hook", merge).status_code == 202
    declined = ("pullpolicy_pull_requests_total", (("action", "declined"), ("forge", "github")))
    samples = scrape(harness)
    assert samples[declined] == 1
    assert (
        "pullpolicy_pull_requests_total",
        (("action", "declined"), ("forge", "gitlab")),
    ) not in samples


def test_worker_totals_from_the_shared_state_are_served(harness: Harness) -> None:
    SharedMetrics(harness.state).scan_finished(
        "gitlab", "opened", findings=2, api_calls=9, duration=1.5, queue_wait=0.25
    )
    samples = scrape(harness)
    assert samples[("pullpolicy_scans_total", (("forge", "gitlab"), ("outcome", "opened")))] == 1
    assert samples[("pullpolicy_shared_metrics_up", ())] == 1


def test_readyz_is_ready_when_state_and_broker_answer(harness: Harness) -> None:
    answer = harness.client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "checks": {"settings": "ok", "state": "ok", "broker": "ok"},
    }


class UnreachableBroker(InMemoryEnqueuer):
    def ping(self) -> None:
        raise ConnectionRefusedError("amqp://guest:s3cret@rabbit:5672// refused")


def test_readyz_names_the_failed_check_without_its_message(tmp_path: Path) -> None:
    state = SqliteState(tmp_path / "state.sqlite")
    app = create_app(make_settings(tmp_path), enqueuer=UnreachableBroker(), state=state)
    answer = TestClient(app).get("/readyz")
    state.close()
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready"
    assert answer.json()["checks"] == {
        "settings": "ok",
        "state": "ok",
        "broker": "failed: ConnectionRefusedError",
    }
    assert "s3cret" not in answer.text
