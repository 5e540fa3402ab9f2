"""bot.webhooks.receiver driven directly: what each answer logs and counts (what an operator
sees), and which claims a failed enqueue gives back (whether the forge's redelivery gets in).

Found by mutation testing (docs/mutation.md): the web app's tests see the status codes, these
see the log line, the metric and the shared state behind each one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from bot.webhooks import events, receiver
from bot.webhooks.enqueue import EmbeddedEnqueuer, Enqueuer, InMemoryEnqueuer, RedisEnqueuer
from bot.webhooks.receiver import Outcome, Receiver
from tests.bot.helpers import (
    GITHUB_SECRET,
    GITLAB_SECRET,
    encode,
    github_headers,
    gitlab_headers,
    payload,
)
from workers.config.model import DEFAULT_BRANCH
from workers.jobs import SCAN_QUEUE, ScanJob
from workers.runtime.logs import LOGGER_NAME, JsonFormatter
from workers.runtime.metrics import DeliveryMetrics
from workers.runtime.sqlite_queue import NewMessage, SqliteQueue
from workers.runtime.state import REDIS_PREFIX, RedisState, SqliteState, State

HELLO = "Codertocat/Hello-World"
SPACING = 7.5
SECRETS = {"github": GITHUB_SECRET.encode(), "gitlab": GITLAB_SECRET.encode()}
DELIVERIES = "pullpolicy_webhook_deliveries_total"
DECLINED = "pullpolicy_pull_requests_total"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SqliteState]:
    opened = SqliteState(tmp_path / "state.sqlite")
    yield opened
    opened.close()


def _receiver(state: State, enqueuer: Enqueuer) -> tuple[Receiver, DeliveryMetrics]:
    metrics = DeliveryMetrics(state)
    made = Receiver(SECRETS, state, enqueuer, installation_spacing=SPACING, metrics=metrics)
    return made, metrics


def _github(
    event: str, data: dict[str, Any] | bytes, delivery: str
) -> tuple[dict[str, str], bytes]:
    body = data if isinstance(data, bytes) else encode(data)
    return github_headers(event, body, delivery=delivery), body


def _logged(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The receiver's records as the JSON log shows them, without the time."""
    entries = []
    for record in caplog.records:
        if record.name == LOGGER_NAME:
            entry = json.loads(JsonFormatter().format(record))
            del entry["time"], entry["logger"]
            entries.append(entry)
    return entries


def _counted(metrics: DeliveryMetrics, forge: str, event: str, outcome: str) -> float:
    labels = {"forge": forge, "event": event, "outcome": outcome}
    return metrics.registry.get_sample_value(DELIVERIES, labels) or 0.0


def _declined(metrics: DeliveryMetrics, forge: str) -> float:
    labels = {"forge": forge, "action": "declined"}
    return metrics.registry.get_sample_value(DECLINED, labels) or 0.0


def _installation(*names: str) -> dict[str, Any]:
    data = payload("github", "installation.1")
    template = data["repositories"][0]
    data["repositories"] = [dict(template, full_name=name) for name in names]
    return data


def _declining_pull_request() -> dict[str, Any]:
    """A person closing the bot's fix PR unmerged."""
    pull = payload("github", "pull_request.3")
    pull["pull_request"]["head"]["ref"] = DEFAULT_BRANCH
    pull["pull_request"]["user"]["login"] = "pullpolicy[bot]"
    return pull


# --- every answer: one log line and one count ------------------------------------------------


def test_a_queued_delivery_logs_its_jobs_and_repositories_at_info(
    state: SqliteState, caplog: pytest.LogCaptureFixture
) -> None:
    the_receiver, metrics = _receiver(state, InMemoryEnqueuer())
    names = ["o/zeta", "o/alpha", "o/alpha"]  # logged sorted; the repeated one is claimed once
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        outcome = the_receiver.handle(
            "github", *_github("installation", _installation(*names), "i-1")
        )
    assert outcome.status_code == 202
    assert _logged(caplog) == [
        {
            "level": "INFO",
            "message": "webhook queued",
            "forge": "github",
            "event": "installation",
            "delivery_id": "i-1",
            "jobs": 2,
            "repository": "o/alpha,o/zeta",
        }
    ]
    assert _counted(metrics, "github", "installation", "queued") == 1


def test_a_gitlab_delivery_is_logged_with_its_project_and_event(
    state: SqliteState, caplog: pytest.LogCaptureFixture
) -> None:
    the_receiver, metrics = _receiver(state, InMemoryEnqueuer())
    headers = gitlab_headers("Push Hook", delivery="g-1")
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        outcome = the_receiver.handle("gitlab", headers, encode(payload("gitlab", "push")))
    assert outcome.status_code == 202
    (entry,) = _logged(caplog)
    assert (entry["event"], entry["delivery_id"], entry["repository"]) == (
        "Push Hook",
        "g-1",
        "mike/diaspora",  # the project's path: GitLab's `repository` has no full name
    )
    assert _counted(metrics, "gitlab", "Push Hook", "queued") == 1
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        again = the_receiver.handle("gitlab", headers, encode(payload("gitlab", "push")))
    assert again.body["status"] == "duplicate"
    (entry,) = _logged(caplog)  # read from the payload, not from a job
    assert entry["repository"] == "mike/diaspora"


def test_deliveries_without_an_id_are_never_duplicates(state: SqliteState) -> None:
    enqueuer = InMemoryEnqueuer()
    the_receiver, _ = _receiver(state, enqueuer)
    headers, body = _github("push", payload("github", "push.4"), "unused")
    del headers["X-GitHub-Delivery"]
    assert [the_receiver.handle("github", headers, body).status_code for _ in range(2)] == [
        202,
        202,
    ]
    assert len(enqueuer.jobs) == 2


def test_ignored_and_duplicate_deliveries_log_why_at_info(
    state: SqliteState, caplog: pytest.LogCaptureFixture
) -> None:
    the_receiver, metrics = _receiver(state, InMemoryEnqueuer())
    push = _github("push", payload("github", "push.4"), "p-1")
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        ping = the_receiver.handle("github", *_github("ping", payload("github", "ping.0"), "ping"))
        the_receiver.handle("github", *push)
        caplog.clear()
        again = the_receiver.handle("github", *push)
    assert ping.body == {"status": "ignored", "reason": events.PING}
    assert again.body == {"status": "duplicate", "reason": receiver.DUPLICATE}
    assert _logged(caplog) == [
        {
            "level": "INFO",
            "message": "webhook duplicate",
            "forge": "github",
            "event": "push",
            "delivery_id": "p-1",
            "repository": HELLO,
        }
    ]
    assert _counted(metrics, "github", "ping", "ignored") == 1
    assert _counted(metrics, "github", "push", "duplicate") == 1


def test_an_ignored_delivery_logs_its_reason(
    state: SqliteState, caplog: pytest.LogCaptureFixture
) -> None:
    the_receiver, _ = _receiver(state, InMemoryEnqueuer())
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        the_receiver.handle("github", *_github("ping", payload("github", "ping.0"), "ping-1"))
    (entry,) = _logged(caplog)
    assert entry["level"] == "INFO"
    assert entry["message"] == "webhook ignored"
    assert entry["reason"] == events.PING


@pytest.mark.parametrize(
    ("body", "signed", "status", "message", "outcome"),
    [
        (b"{}", False, 401, f"webhook {receiver.INVALID_SIGNATURE}", "unauthorized"),
        (b"[1]", True, 400, "webhook malformed body: not a JSON object", "malformed"),
        (b"{}", True, 400, "webhook malformed payload: ", "malformed"),
    ],
)
def test_refused_deliveries_log_at_warning_and_count_by_outcome(
    state: SqliteState,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    signed: bool,
    status: int,
    message: str,
    outcome: str,
) -> None:
    the_receiver, metrics = _receiver(state, InMemoryEnqueuer())
    headers = github_headers("push", body if signed else b"other", delivery="r-1")
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        answer = the_receiver.handle("github", headers, body)
    assert answer.status_code == status
    (entry,) = _logged(caplog)
    assert entry["level"] == "WARNING"
    assert entry["message"].startswith(message)
    assert (entry["event"], entry["delivery_id"]) == ("push", "r-1")
    # An unverified delivery's event header is anyone's text: counted without it.
    assert _counted(metrics, "github", "" if status == 401 else "push", outcome) == 1


FORM = "application/x-www-form-urlencoded"
NOT_ONE_PAYLOAD = "malformed body: form body without one payload field"


@pytest.mark.parametrize(
    ("content_type", "body", "detail"),
    [
        ("application/json", b"not json", "malformed body: not JSON (JSONDecodeError)"),
        ("application/json", b"[1]", "malformed body: not a JSON object"),
        (FORM, b"other=1", NOT_ONE_PAYLOAD),
        (FORM, b"payload=%7B%7D&payload=%7B%7D", NOT_ONE_PAYLOAD),
        (FORM, b"payload=%7B%7D&junk", "malformed body: bad query field: 'junk'"),
    ],
)
def test_a_malformed_body_is_answered_with_what_is_wrong(
    state: SqliteState, content_type: str, body: bytes, detail: str
) -> None:
    the_receiver, _ = _receiver(state, InMemoryEnqueuer())
    headers = github_headers("push", body, delivery="m-1") | {"Content-Type": content_type}
    answer = the_receiver.handle("github", headers, body)
    assert (answer.status_code, answer.body) == (400, {"detail": detail})


def test_a_form_encoded_delivery_is_read_whatever_its_content_type_s_case_and_parameters(
    state: SqliteState,
) -> None:
    enqueuer = InMemoryEnqueuer()
    the_receiver, _ = _receiver(state, enqueuer)
    body = urlencode({"payload": json.dumps(payload("github", "push.4"))}).encode()
    content_type = "Application/X-WWW-Form-Urlencoded; charset=utf-8"
    headers = github_headers("push", body, delivery="f-1") | {"Content-Type": content_type}
    assert the_receiver.handle("github", headers, body).status_code == 202
    assert [job.repo for job in enqueuer.jobs] == [HELLO]


def test_outcome_labels() -> None:
    def label(status: int, body: dict[str, Any] | None = None) -> str:
        return receiver.outcome_label(Outcome(status, body or {}))

    assert label(200, {"status": "duplicate"}) == "duplicate"
    assert label(200) == "ignored"
    assert [label(code) for code in (202, 400, 401, 413, 500, 503)] == [
        "queued",
        "malformed",
        "unauthorized",
        "too-large",
        "unavailable",
        "unavailable",
    ]


# --- failures: 503, the error's type, and the claims given back -------------------------------


class BrokerDownAfter(InMemoryEnqueuer):
    """Takes `working` jobs, then the broker goes down (with credentials in its error)."""

    def __init__(self, working: int) -> None:
        super().__init__()
        self.working = working

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        if len(self.queued) >= self.working:
            raise ConnectionError("redis://:hunter2@broker:6379 refused")
        super().enqueue(job, countdown)


def test_a_broker_failing_mid_installation_gives_back_the_unqueued_claims_only(
    state: SqliteState, caplog: pytest.LogCaptureFixture
) -> None:
    broker = BrokerDownAfter(2)
    the_receiver, metrics = _receiver(state, broker)
    names = [f"o/r{n}" for n in range(4)]
    delivery = _github("installation", _installation(*names), "i-2")
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        failed = the_receiver.handle("github", *delivery)
    assert failed.status_code == 503
    assert failed.body == {"detail": receiver.UNAVAILABLE}
    (entry,) = _logged(caplog)
    assert entry["level"] == "WARNING"
    assert (entry["error"], entry["jobs"]) == ("ConnectionError", 2)  # type only: no URL
    assert _counted(metrics, "github", "installation", "unavailable") == 1
    broker.working = 100
    retried = the_receiver.handle("github", *delivery)  # the delivery's claim was given back
    assert retried.status_code == 202
    # The two queued before the failure kept their claims: not queued twice.
    assert [job.repo for job in broker.jobs] == names


class StateDownOnClaim(SqliteState):
    def claim(self, namespace: str, key: str, ttl_seconds: float) -> bool:
        raise ConnectionError("redis://:hunter2@state:6379 refused")


def test_a_state_that_cannot_take_the_claim_is_503_with_the_error_s_type(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = StateDownOnClaim(tmp_path / "state.sqlite")
    enqueuer = InMemoryEnqueuer()
    the_receiver, metrics = _receiver(state, enqueuer)
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        answer = the_receiver.handle("github", *_github("push", payload("github", "push.4"), "d"))
    state.close()
    assert (answer.status_code, enqueuer.queued) == (503, [])
    (entry,) = _logged(caplog)
    assert (entry["level"], entry["error"], entry["jobs"]) == ("WARNING", "ConnectionError", 0)
    assert _counted(metrics, "github", "push", "unavailable") == 1


class StateDownOnMarks(SqliteState):
    def is_marked(self, namespace: str, key: str) -> bool:
        raise TimeoutError("state unreachable")


def test_a_state_that_cannot_say_scanned_before_is_503_with_the_error_s_type(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = StateDownOnMarks(tmp_path / "state.sqlite")
    the_receiver, _ = _receiver(state, InMemoryEnqueuer())
    # A push that touched no manifest asks whether the repository was scanned before.
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        answer = the_receiver.handle("github", *_github("push", payload("github", "push.4"), "d"))
    state.close()
    assert answer.status_code == 503
    (entry,) = _logged(caplog)
    assert (entry["error"], entry["jobs"]) == ("TimeoutError", 0)


class StateDownOnRelease(SqliteState):
    def release(self, namespace: str, key: str) -> None:
        raise ConnectionError("state unreachable")


def test_claims_that_cannot_be_given_back_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = StateDownOnRelease(tmp_path / "state.sqlite")
    the_receiver, _ = _receiver(state, BrokerDownAfter(0))
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        answer = the_receiver.handle("github", *_github("push", payload("github", "push.4"), "d"))
    state.close()
    assert answer.status_code == 503
    assert [(entry["level"], entry["message"]) for entry in _logged(caplog)] == [
        ("WARNING", "could not release claims after a failed enqueue"),
        ("WARNING", f"webhook {receiver.UNAVAILABLE}"),
    ]


class StateDownOnAdd(SqliteState):
    def add(self, namespace: str, amounts: Any) -> None:
        raise TimeoutError("state unreachable")


def test_a_declined_pr_that_cannot_be_counted_is_logged_and_still_queued(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = StateDownOnAdd(tmp_path / "state.sqlite")
    enqueuer = InMemoryEnqueuer()
    the_receiver, _ = _receiver(state, enqueuer)
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        answer = the_receiver.handle(
            "github", *_github("pull_request", _declining_pull_request(), "c-1")
        )
    state.close()
    assert answer.status_code == 202
    assert len(enqueuer.jobs) == 1
    warning, answered = _logged(caplog)
    assert warning == {
        "level": "WARNING",
        "message": "could not count a declined PR",
        "error": "TimeoutError",
    }
    assert answered["message"] == "webhook queued"


# --- the embedded queue's one commit per delivery, waited for on a thread ----------------------


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedEnqueuer]:
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    yield enqueuer
    enqueuer.close()


def test_a_declined_pr_queued_in_one_commit_is_counted_once(
    state: SqliteState, embedded: EmbeddedEnqueuer
) -> None:
    the_receiver, metrics = _receiver(state, embedded)
    delivery = _github("pull_request", _declining_pull_request(), "c-2")
    assert the_receiver.handle("github", *delivery).status_code == 202
    assert the_receiver.handle("github", *delivery).status_code == 200  # redelivered
    assert _declined(metrics, "github") == 1


def test_an_installation_queued_in_one_commit_answers_its_countdowns(
    state: SqliteState, embedded: EmbeddedEnqueuer
) -> None:
    the_receiver, _ = _receiver(state, embedded)
    delivery = _github("installation", _installation("o/a", "o/b"), "i-4")
    answer = the_receiver.handle("github", *delivery)
    assert answer.body["jobs"] == [
        {"repo": "o/a", "reason": "installation", "countdown": 0.0},
        {"repo": "o/b", "reason": "installation", "countdown": SPACING},
    ]


def test_a_stopped_queue_writer_is_503_and_gives_the_claims_back(
    state: SqliteState, embedded: EmbeddedEnqueuer, caplog: pytest.LogCaptureFixture
) -> None:
    the_receiver, _ = _receiver(state, embedded)
    embedded._writer().close()  # its thread ends: every submit raises at once
    delivery = _github("installation", _installation("o/a", "o/b"), "i-3")
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        failed = the_receiver.handle("github", *delivery)
    assert failed.status_code == 503
    (entry,) = _logged(caplog)
    assert (entry["error"], entry["jobs"]) == ("CommitterClosed", 0)
    working = InMemoryEnqueuer()
    retried, _ = _receiver(state, working)
    assert retried.handle("github", *delivery).status_code == 202
    assert [job.repo for job in working.jobs] == ["o/a", "o/b"]


def test_a_commit_slower_than_the_wait_is_503_and_a_delivery_behind_it_is_withdrawn(
    state: SqliteState,
    embedded: EmbeddedEnqueuer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(receiver, "QUEUE_WAIT_SECONDS", 0.2)
    commit_started = threading.Event()
    disk_back = threading.Event()
    put_many = SqliteQueue.put_many
    stored: list[int] = []

    def stalled_once(store: SqliteQueue, messages: Sequence[NewMessage]) -> None:
        if not commit_started.is_set():
            commit_started.set()
            disk_back.wait(timeout=30)
        put_many(store, messages)
        stored.append(len(messages))

    monkeypatch.setattr(SqliteQueue, "put_many", stalled_once)
    the_receiver, _ = _receiver(state, embedded)

    def deliver(delivery: str) -> int:
        data = payload("github", "push.4")
        return the_receiver.handle("github", *_github("push", data, delivery)).status_code

    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        assert deliver("stalled") == 503  # its commit hangs past the wait
        assert commit_started.wait(timeout=10)
        assert deliver("behind") == 503  # waits behind it and gives up: withdrawn
    assert [(entry["error"], entry["jobs"]) for entry in _logged(caplog)] == [
        ("TimeoutError", 0),
        ("TimeoutError", 0),
    ]
    disk_back.set()
    assert deliver("next") == 202
    assert stored == [1, 1]  # "stalled" (already being written) and "next": never "behind"


# --- Redis mode: decided and queued in one round trip on the event loop ------------------------


@pytest.fixture
def redis_mode(redis_url: str) -> Iterator[tuple[Receiver, DeliveryMetrics, Any]]:
    import redis

    direct = redis.Redis.from_url(redis_url)

    def clean() -> None:
        direct.delete(SCAN_QUEUE)
        for key in direct.scan_iter(f"{REDIS_PREFIX}*"):
            direct.delete(key)

    clean()
    state = RedisState(redis_url)
    the_receiver, metrics = _receiver(state, RedisEnqueuer(redis_url))
    assert the_receiver.admits_in_one_trip
    yield the_receiver, metrics, direct
    clean()
    state.close()
    direct.close()


def _admit(the_receiver: Receiver, headers: dict[str, str], body: bytes) -> Outcome:
    return asyncio.run(the_receiver.handle_async("github", headers, body))


def _queued_messages(direct: Any) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in direct.lrange(SCAN_QUEUE, 0, -1)]


def test_one_trip_answers_are_logged_and_counted_as_the_general_path_s(
    redis_mode: tuple[Receiver, DeliveryMetrics, Any], caplog: pytest.LogCaptureFixture
) -> None:
    the_receiver, metrics, direct = redis_mode
    push = _github("push", payload("github", "push.4"), "t-1")
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        queued = _admit(the_receiver, *push)
        duplicate = _admit(the_receiver, *push)
        ping = _admit(the_receiver, *_github("ping", payload("github", "ping.0"), "t-2"))
        unsigned = _admit(the_receiver, github_headers("push", b"x", delivery="t-3"), b"{}")
    assert queued.body == {
        "status": "queued",
        "jobs": [{"repo": HELLO, "reason": "push", "countdown": 0.0}],
    }
    (message,) = _queued_messages(direct)
    assert message["headers"]["eta"] is None  # due now, as the answer says
    assert [answer.status_code for answer in (queued, duplicate, ping, unsigned)] == [
        202,
        200,
        200,
        401,
    ]
    assert duplicate.body["status"] == "duplicate"
    queued_entry, duplicate_entry, ping_entry, unsigned_entry = _logged(caplog)
    assert queued_entry == {
        "level": "INFO",
        "message": "webhook queued",
        "forge": "github",
        "event": "push",
        "delivery_id": "t-1",
        "jobs": 1,
        "repository": HELLO,
    }
    assert duplicate_entry["message"] == "webhook duplicate"
    assert (ping_entry["message"], ping_entry["reason"]) == ("webhook ignored", events.PING)
    assert (unsigned_entry["level"], unsigned_entry["delivery_id"]) == ("WARNING", "t-3")
    for event, outcome in (("push", "queued"), ("push", "duplicate"), ("ping", "ignored")):
        assert _counted(metrics, "github", event, outcome) == 1
    assert _counted(metrics, "github", "", "unauthorized") == 1


def test_one_trip_deliveries_without_an_id_are_never_duplicates(
    redis_mode: tuple[Receiver, DeliveryMetrics, Any],
) -> None:
    the_receiver, _, direct = redis_mode
    headers, body = _github("push", payload("github", "push.4"), "unused")
    del headers["X-GitHub-Delivery"]
    assert [_admit(the_receiver, headers, body).status_code for _ in range(2)] == [202, 202]
    assert len(_queued_messages(direct)) == 2


def test_a_one_trip_push_refused_by_redis_logs_the_error_s_type(
    redis_mode: tuple[Receiver, DeliveryMetrics, Any], caplog: pytest.LogCaptureFixture
) -> None:
    the_receiver, metrics, direct = redis_mode
    direct.set(SCAN_QUEUE, b"not a list")  # LPUSH fails inside the script
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        answer = _admit(the_receiver, *_github("push", payload("github", "push.4"), "t-4"))
    assert answer.status_code == 503
    (entry,) = _logged(caplog)
    assert (entry["level"], entry["error"], entry["jobs"]) == ("WARNING", "ResponseError", 0)
    assert _counted(metrics, "github", "push", "unavailable") == 1


# --- the embedded queue's commit awaited on the event loop (the web app's path) ----------------


def _queue_async(the_receiver: Receiver, headers: dict[str, str], body: bytes) -> Outcome:
    decision = the_receiver.decide("github", headers, body)
    assert not isinstance(decision, Outcome), decision
    assert the_receiver.queue_awaits
    return asyncio.run(the_receiver.queue_async(decision))


def test_an_awaited_commit_that_fails_is_503_and_gives_every_claim_back(
    state: SqliteState,
    embedded: EmbeddedEnqueuer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put_many = SqliteQueue.put_many

    def disk_full(store: SqliteQueue, messages: Sequence[NewMessage]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(SqliteQueue, "put_many", disk_full)
    the_receiver, metrics = _receiver(state, embedded)
    delivery = _github("installation", _installation("o/a", "o/b"), "i-5")
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        failed = _queue_async(the_receiver, *delivery)
    assert failed.status_code == 503
    (entry,) = _logged(caplog)
    assert (entry["level"], entry["error"], entry["jobs"]) == ("WARNING", "OSError", 0)
    assert _counted(metrics, "github", "installation", "unavailable") == 1
    monkeypatch.setattr(SqliteQueue, "put_many", put_many)
    retried = _queue_async(the_receiver, *delivery)  # no repository's claim was kept
    assert [job["repo"] for job in retried.body["jobs"]] == ["o/a", "o/b"]


def test_a_declined_pr_whose_commit_is_awaited_is_counted_once(
    state: SqliteState, embedded: EmbeddedEnqueuer
) -> None:
    the_receiver, metrics = _receiver(state, embedded)
    delivery = _github("pull_request", _declining_pull_request(), "c-3")
    assert _queue_async(the_receiver, *delivery).status_code == 202
    redelivered = the_receiver.decide("github", *delivery)
    assert isinstance(redelivered, Outcome) and redelivered.status_code == 200
    assert _declined(metrics, "github") == 1


def test_a_declined_pr_admitted_in_one_trip_is_counted_once(
    redis_mode: tuple[Receiver, DeliveryMetrics, Any],
) -> None:
    the_receiver, metrics, _ = redis_mode
    delivery = _github("pull_request", _declining_pull_request(), "c-4")
    assert [_admit(the_receiver, *delivery).status_code for _ in range(2)] == [202, 200]
    assert _declined(metrics, "github") == 1
