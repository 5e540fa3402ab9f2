"""The receiver over HTTP (Starlette's TestClient): status codes, what gets queued, and what not."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.main import create_app
from bot.webhooks import events, receiver
from bot.webhooks.body import MAX_BODY_BYTES
from bot.webhooks.enqueue import EmbeddedEnqueuer, InMemoryEnqueuer
from tests.bot.helpers import (
    GITHUB_SECRET,
    GITLAB_SECRET,
    commit,
    encode,
    github_headers,
    gitlab_headers,
    payload,
)
from workers.config.model import DEFAULT_BRANCH
from workers.jobs import ScanJob
from workers.runtime.logs import LOGGER_NAME, JsonFormatter
from workers.runtime.settings import Settings, SettingsError
from workers.runtime.sqlite_queue import NewMessage, SqliteQueue
from workers.runtime.state import SCANNED, SqliteState

HELLO = "Codertocat/Hello-World"
SPACING = 7.5


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "github_app_id": 1,
        "github_webhook_secret": SecretStr(GITHUB_SECRET),
        "gitlab_url": "https://gitlab.example.com",
        "gitlab_webhook_secret": SecretStr(GITLAB_SECRET),
        "data_dir": tmp_path / "data",
        "installation_scan_spacing_seconds": SPACING,
    }
    values.update(overrides)
    return Settings(**values)


class Harness:
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.enqueuer = InMemoryEnqueuer()
        self.state = SqliteState(tmp_path / "state.sqlite")
        self.app: FastAPI = create_app(
            make_settings(tmp_path, **settings), enqueuer=self.enqueuer, state=self.state
        )
        self.client = TestClient(self.app)

    def github(
        self, event: str, data: dict[str, Any] | bytes, *, delivery: str | None = None
    ) -> Any:
        body = data if isinstance(data, bytes) else encode(data)
        headers = github_headers(event, body, delivery=delivery)
        return self.client.post("/webhooks/github", content=body, headers=headers)

    def gitlab(self, event: str, data: dict[str, Any], *, delivery: str | None = None) -> Any:
        headers = gitlab_headers(event, delivery=delivery)
        return self.client.post("/webhooks/gitlab", content=encode(data), headers=headers)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    yield made
    made.state.close()


def push_job(delivery: str | None = None) -> ScanJob:
    return ScanJob(
        forge="github",
        repo=HELLO,
        reason="push",
        head_sha="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        installation_id=1,
        delivery_id=delivery,
    )


# --- authentication ----------------------------------------------------------------------


def test_bad_signatures_are_401_and_queue_nothing(harness: Harness) -> None:
    body = encode(payload("github", "push.4"))
    wrong_secret = github_headers("push", body, secret="not the secret")
    tampered = github_headers("push", body)
    missing = {k: v for k, v in github_headers("push", body).items() if "Signature" not in k}
    for headers, content in ((wrong_secret, body), (tampered, body + b" "), (missing, body)):
        response = harness.client.post("/webhooks/github", content=content, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": receiver.INVALID_SIGNATURE}
    for token in ("wrong", None):
        headers = gitlab_headers("Push Hook", token=token or "")
        if token is None:
            del headers["X-Gitlab-Token"]
        response = harness.client.post(
            "/webhooks/gitlab", content=encode(payload("gitlab", "push")), headers=headers
        )
        assert response.status_code == 401
    assert harness.enqueuer.queued == []


def test_signature_is_checked_before_the_body_is_parsed(harness: Harness) -> None:
    headers = github_headers("push", b"{}", secret="not the secret")
    response = harness.client.post("/webhooks/github", content=b"not json", headers=headers)
    assert response.status_code == 401  # not 400: an unauthenticated body is never parsed


def test_secrets_of_the_two_forges_are_not_interchangeable(harness: Harness) -> None:
    headers = gitlab_headers("Push Hook", token=GITHUB_SECRET)
    response = harness.client.post(
        "/webhooks/gitlab", content=encode(payload("gitlab", "push")), headers=headers
    )
    assert response.status_code == 401


# --- malformed and oversize --------------------------------------------------------------


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"push"', b"\xff\xfe", b""])
def test_malformed_body_is_400(harness: Harness, body: bytes) -> None:
    response = harness.github("push", body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed body")
    assert harness.enqueuer.queued == []


def test_handled_event_missing_fields_is_400(harness: Harness) -> None:
    data = payload("github", "push.4")
    del data["repository"]
    response = harness.github("push", data)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed payload")


def test_declared_oversize_body_is_413_without_reading_it(harness: Harness) -> None:
    headers = github_headers("push", b"{}") | {"Content-Length": str(MAX_BODY_BYTES + 1)}
    response = harness.client.post("/webhooks/github", content=b"{}", headers=headers)
    assert response.status_code == 413


def test_streamed_oversize_body_is_413(harness: Harness) -> None:
    chunk = b" " * (1024 * 1024)
    chunks = MAX_BODY_BYTES // len(chunk) + 1

    def stream() -> Iterator[bytes]:
        for _ in range(chunks):
            yield chunk

    headers = github_headers("push", b"{}")  # no Content-Length: sent chunked
    response = harness.client.post("/webhooks/github", content=stream(), headers=headers)
    assert response.status_code == 413
    assert harness.enqueuer.queued == []


def test_body_at_the_cap_is_read(tmp_path: Path) -> None:
    small = Harness(tmp_path)
    small.app = create_app(
        make_settings(tmp_path), enqueuer=small.enqueuer, state=small.state, max_body_bytes=64
    )
    client = TestClient(small.app)
    body = b"{}".ljust(64)
    response = client.post("/webhooks/github", content=body, headers=github_headers("x", body))
    assert response.status_code == 200  # read, verified and ignored: the cap is inclusive
    over = b"{}".ljust(65)
    response = client.post("/webhooks/github", content=over, headers=github_headers("x", over))
    assert response.status_code == 413
    small.state.close()


def test_invalid_content_length_is_400(harness: Harness) -> None:
    headers = github_headers("push", b"{}") | {"Content-Length": "-5"}
    response = harness.client.post("/webhooks/github", content=b"{}", headers=headers)
    assert response.status_code == 400


# --- accepted ----------------------------------------------------------------------------


def test_push_to_default_branch_is_202_with_the_queued_job(harness: Harness) -> None:
    response = harness.github("push", payload("github", "push.4"), delivery="d-1")
    assert response.status_code == 202
    assert response.json() == {
        "status": "queued",
        "jobs": [{"repo": HELLO, "reason": "push", "countdown": 0.0}],
    }
    assert harness.enqueuer.queued == [(push_job("d-1"), 0.0)]


def test_form_encoded_github_delivery_is_accepted(harness: Harness) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(payload("github", "push.4"))}).encode()
    headers = github_headers("push", body, delivery="d-form") | {
        "Content-Type": "application/x-www-form-urlencoded"
    }
    response = harness.client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 202
    assert harness.enqueuer.jobs == [push_job("d-form")]


def test_gitlab_push_is_202(harness: Harness) -> None:
    response = harness.gitlab("Push Hook", payload("gitlab", "push"), delivery="g-1")
    assert response.status_code == 202
    assert harness.enqueuer.jobs == [
        ScanJob(
            forge="gitlab",
            repo="mike/diaspora",
            reason="push",
            head_sha="da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            delivery_id="g-1",
        )
    ]


def test_closing_bot_pull_request_and_merge_request_queue_scans(harness: Harness) -> None:
    pull = payload("github", "pull_request.3")
    pull["pull_request"]["head"]["ref"] = DEFAULT_BRANCH
    assert harness.github("pull_request", pull).status_code == 202
    merge = payload("gitlab", "merge_request")
    merge["object_attributes"].update(action="merge", source_branch=DEFAULT_BRANCH)
    assert harness.gitlab("Merge Request Hook", merge).status_code == 202
    assert [(job.forge, job.repo, job.reason) for job in harness.enqueuer.jobs] == [
        ("github", HELLO, "pull_request_closed"),
        ("gitlab", "gitlabhq/gitlab-test", "pull_request_closed"),
    ]


# --- ignored -----------------------------------------------------------------------------


def _variant(**changes: Any) -> dict[str, Any]:
    data = payload("github", "push.4")
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("event", "data", "reason"),
    [
        ("ping", payload("github", "ping.0"), events.PING),
        ("push", payload("github", "push.0"), events.TAG_PUSH),
        ("push", _variant(ref="refs/heads/feature"), events.OTHER_BRANCH),
        ("push", _variant(ref=f"refs/heads/{DEFAULT_BRANCH}"), events.BOT_BRANCH_PUSH),
        ("push", _variant(deleted=True, after="0" * 40, commits=[]), events.BRANCH_DELETED),
        ("installation", payload("github", "installation.0"), events.INSTALLATION_ACTION),
        ("star", {"action": "created"}, f"{events.UNHANDLED_EVENT}: star"),
    ],
)
def test_ignored_deliveries_are_2xx_with_a_reason(
    harness: Harness, event: str, data: dict[str, Any], reason: str
) -> None:
    response = harness.github(event, data)
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": reason}
    assert harness.enqueuer.queued == []


def test_gitlab_tag_push_is_ignored(harness: Harness) -> None:
    response = harness.gitlab("Tag Push Hook", payload("gitlab", "tag_push"))
    assert response.json() == {"status": "ignored", "reason": events.TAG_PUSH}


# --- dedupe and scan avoidance -----------------------------------------------------------


def test_redelivery_queues_one_job(harness: Harness) -> None:
    data = payload("github", "push.4")
    first = harness.github("push", data, delivery="same")
    second = harness.github("push", data, delivery="same")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == {"status": "duplicate", "reason": receiver.DUPLICATE}
    assert harness.enqueuer.jobs == [push_job("same")]
    gitlab_data = payload("gitlab", "push")
    harness.gitlab("Push Hook", gitlab_data, delivery="g-same")
    harness.gitlab("Push Hook", gitlab_data, delivery="g-same")
    assert len(harness.enqueuer.jobs) == 2


def test_same_delivery_id_on_two_forges_is_not_a_duplicate(harness: Harness) -> None:
    assert harness.github("push", payload("github", "push.4"), delivery="x").status_code == 202
    assert harness.gitlab("Push Hook", payload("gitlab", "push"), delivery="x").status_code == 202


def test_irrelevant_push_after_a_scan_queues_nothing(harness: Harness) -> None:
    harness.state.mark(SCANNED, f"github:{HELLO}")
    response = harness.github("push", payload("github", "push.4"))  # README.md only
    assert response.json() == {"status": "ignored", "reason": events.NOTHING_RELEVANT}
    relevant = payload("github", "push.4")
    relevant["commits"].append(commit("deploy/api.yaml"))
    assert harness.github("push", relevant).status_code == 202
    assert len(harness.enqueuer.jobs) == 1


def test_installation_queues_one_job_per_repository_with_staggered_countdowns(
    harness: Harness,
) -> None:
    data = payload("github", "installation.1")
    template = data["repositories"][0]
    names = [f"Codertocat/repo-{n}" for n in range(4)]
    data["repositories"] = [dict(template, full_name=name) for name in names]
    response = harness.github("installation", data)
    assert response.status_code == 202
    assert [(job.repo, countdown) for job, countdown in harness.enqueuer.queued] == [
        (name, n * SPACING) for n, name in enumerate(names)
    ]
    assert {job.reason for job in harness.enqueuer.jobs} == {"installation"}
    # The same repositories added again soon after (another delivery): no second initial scan.
    again = payload("github", "installation_repositories.0")
    again["repositories_added"] = [dict(template, full_name=names[0])]
    response = harness.github("installation_repositories", again)
    assert response.json() == {"status": "ignored", "reason": receiver.ALREADY_QUEUED}
    assert len(harness.enqueuer.queued) == 4


# --- broker or state failures ------------------------------------------------------------


class FlakyEnqueuer(InMemoryEnqueuer):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        if self.down:
            raise ConnectionError("redis://:hunter2@broker:6379 refused")
        super().enqueue(job, countdown)


def test_broker_failure_is_503_and_a_redelivery_gets_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyEnqueuer()
    state = SqliteState(tmp_path / "state.sqlite")
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=flaky, state=state))
    data = payload("github", "push.4")
    body = encode(data)
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        failed = client.post(
            "/webhooks/github", content=body, headers=github_headers("push", body, delivery="d")
        )
    assert failed.status_code == 503
    assert "hunter2" not in caplog.text  # the broker error's text (a URL) is not logged
    flaky.down = False
    retried = client.post(
        "/webhooks/github", content=body, headers=github_headers("push", body, delivery="d")
    )
    assert retried.status_code == 202
    assert flaky.jobs == [push_job("d")]
    state.close()


# --- startup -----------------------------------------------------------------------------


def test_refuses_to_start_without_the_secret_of_a_served_forge(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PULLPOLICY_GITLAB_WEBHOOK_SECRET"):
        create_app(make_settings(tmp_path, gitlab_webhook_secret=None), enqueuer=InMemoryEnqueuer())
    with pytest.raises(SettingsError, match="PULLPOLICY_GITHUB_WEBHOOK_SECRET"):
        create_app(make_settings(tmp_path, github_webhook_secret=None), enqueuer=InMemoryEnqueuer())


def test_starts_in_setup_mode_without_any_forge_and_accepts_no_delivery(tmp_path: Path) -> None:
    enqueuer = InMemoryEnqueuer()
    client = TestClient(create_app(Settings(data_dir=tmp_path), enqueuer=enqueuer))
    assert client.get("/healthz").json() == {"status": "ok", "forges": []}
    github_body = encode(payload("github", "push.4"))
    gitlab_body = encode(payload("gitlab", "push"))
    for path, body, headers in (
        ("/webhooks/github", github_body, github_headers("push", github_body)),
        ("/webhooks/gitlab", gitlab_body, gitlab_headers("Push Hook")),
    ):
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == 503
        assert response.json() == {"detail": "not configured: open /setup"}
    assert enqueuer.queued == []
    assert client.get("/setup").status_code == 403  # served: it asks for the setup token


def test_serves_only_configured_forges(tmp_path: Path) -> None:
    settings = Settings(
        github_app_id=1, github_webhook_secret=SecretStr(GITHUB_SECRET), data_dir=tmp_path
    )
    client = TestClient(create_app(settings, enqueuer=InMemoryEnqueuer()))
    assert client.get("/healthz").json() == {"status": "ok", "forges": ["github"]}
    body = encode(payload("gitlab", "push"))
    assert (
        client.post(
            "/webhooks/gitlab", content=body, headers=gitlab_headers("Push Hook")
        ).status_code
        == 404
    )


def test_insecure_mode_accepts_unsigned_deliveries_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    enqueuer = InMemoryEnqueuer()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        app = create_app(
            Settings(data_dir=tmp_path, insecure_no_webhook_secret=True), enqueuer=enqueuer
        )
    assert "INSECURE" in caplog.text
    client = TestClient(app)
    body = encode(payload("github", "push.4"))
    response = client.post("/webhooks/github", content=body, headers={"X-GitHub-Event": "push"})
    assert response.status_code == 202
    assert len(enqueuer.jobs) == 1


def test_healthz(harness: Harness) -> None:
    response = harness.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "forges": ["github", "gitlab"]}


# --- logs --------------------------------------------------------------------------------


def test_logs_are_json_keyed_by_delivery_and_repository_and_never_hold_secrets(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        harness.github("push", payload("github", "push.4"), delivery="log-1")
        body = encode(payload("github", "push.4"))
        bad = github_headers("push", body, secret=GITLAB_SECRET)
        harness.client.post("/webhooks/github", content=body, headers=bad)
        harness.gitlab("Push Hook", payload("gitlab", "push"), delivery="log-2")
        headers = gitlab_headers("Push Hook", token=GITHUB_SECRET)
        harness.client.post("/webhooks/gitlab", content=b"{}", headers=headers)
        harness.github("push", b"not json")
    lines = [JsonFormatter().format(record) for record in caplog.records]
    everything = "\n".join(lines) + caplog.text
    for secret in (GITHUB_SECRET, GITLAB_SECRET):
        assert secret not in everything
    entries = [json.loads(line) for line in lines if '"delivery_id"' in line]
    queued = [entry for entry in entries if entry.get("delivery_id") == "log-1"]
    assert queued and queued[0]["repository"] == HELLO and queued[0]["forge"] == "github"
    assert any(
        entry.get("delivery_id") == "log-2" and entry["repository"] == "mike/diaspora"
        for entry in entries
    )
    assert sum(entry["level"] == "WARNING" for entry in entries) >= 3  # 401, 401, 400


def test_redelivery_to_another_replica_is_deduplicated_through_redis(
    tmp_path: Path, redis_url: str
) -> None:
    import uuid

    settings = make_settings(tmp_path, redis_url=redis_url)
    enqueuer = InMemoryEnqueuer()
    replicas = [TestClient(create_app(settings, enqueuer=enqueuer)) for _ in range(2)]
    body = encode(payload("github", "push.4"))
    delivery = f"redis-{uuid.uuid4()}"
    statuses = [
        replica.post(
            "/webhooks/github",
            content=body,
            headers=github_headers("push", body, delivery=delivery),
        ).status_code
        for replica in replicas
    ]
    assert statuses == [202, 200]
    assert enqueuer.jobs == [push_job(delivery)]


# --- where the work runs -----------------------------------------------------------------


class ThreadRecordingEnqueuer(InMemoryEnqueuer):
    def __init__(self, *, blocking: bool) -> None:
        super().__init__()
        self.blocking = blocking
        self.on_event_loop: list[bool] = []

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        import asyncio

        try:
            asyncio.get_running_loop()
            self.on_event_loop.append(True)
        except RuntimeError:
            self.on_event_loop.append(False)
        super().enqueue(job, countdown)


@pytest.mark.parametrize("blocking", [True, False])
def test_only_a_blocking_enqueuer_is_called_off_the_event_loop(
    tmp_path: Path, blocking: bool
) -> None:
    enqueuer = ThreadRecordingEnqueuer(blocking=blocking)
    state = SqliteState(tmp_path / "state.sqlite")
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=enqueuer, state=state))
    body = encode(payload("github", "push.4"))
    response = client.post("/webhooks/github", content=body, headers=github_headers("push", body))
    assert response.status_code == 202
    assert enqueuer.on_event_loop == [not blocking]
    state.close()


class FailingClaims(SqliteState):
    """SQLite state whose installation-scan claims fail after the first one."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.installation_claims = 0
        self.fail = True

    def claim(self, namespace: str, key: str, ttl_seconds: float) -> bool:
        if namespace == receiver.INSTALLATION_SCANS:
            self.installation_claims += 1
            if self.fail and self.installation_claims > 1:
                raise ConnectionError("state unreachable")
        return super().claim(namespace, key, ttl_seconds)


def test_state_failure_is_503_and_gives_back_the_claims_it_took(tmp_path: Path) -> None:
    state = FailingClaims(tmp_path / "state.sqlite")
    enqueuer = InMemoryEnqueuer()
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=enqueuer, state=state))
    data = payload("github", "installation.1")
    template = data["repositories"][0]
    data["repositories"] = [dict(template, full_name=f"o/r{n}") for n in range(3)]
    body = encode(data)
    headers = github_headers("installation", body, delivery="inst-1")
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 503
    assert enqueuer.queued == []
    state.fail = False
    retried = client.post("/webhooks/github", content=body, headers=headers)
    assert retried.status_code == 202
    assert [job.repo for job in enqueuer.jobs] == ["o/r0", "o/r1", "o/r2"]
    state.close()


def test_app_factory_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.main import app_factory

    bot_logger = logging.getLogger(LOGGER_NAME)  # app_factory configures it: restore afterwards
    monkeypatch.setattr(bot_logger, "handlers", [])
    monkeypatch.setattr(bot_logger, "propagate", True)
    monkeypatch.setattr(bot_logger, "level", bot_logger.level)
    for name in list(os.environ):
        if name.startswith("PULLPOLICY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PULLPOLICY_GITLAB_URL", "https://gitlab.example.com")
    monkeypatch.setenv("PULLPOLICY_GITLAB_WEBHOOK_SECRET", GITLAB_SECRET)
    monkeypatch.setenv("PULLPOLICY_DATA_DIR", str(tmp_path / "data"))
    app = app_factory()
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok", "forges": ["gitlab"]}
    monkeypatch.delenv("PULLPOLICY_GITLAB_WEBHOOK_SECRET")
    with pytest.raises(SettingsError, match="PULLPOLICY_GITLAB_WEBHOOK_SECRET"):
        app_factory()


@pytest.mark.parametrize(("padding", "on_loop"), [(0, True), (300 * 1024, False)])
def test_large_payloads_are_decided_off_the_event_loop(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, padding: int, on_loop: bool
) -> None:
    import asyncio

    seen: list[bool] = []
    real = events.interpret

    def spy(*args: Any, **kwargs: Any) -> events.Decision:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(events, "interpret", spy)
    data = payload("github", "push.4")
    data["padding"] = "x" * padding
    assert harness.github("push", data).status_code == 202
    assert seen == [on_loop]


# --- shared state on the network ----------------------------------------------------------


class NetworkState(SqliteState):
    """SQLite state that says it blocks, as Redis does, and records where it was called."""

    blocking = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.on_event_loop: list[bool] = []

    def _record(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.on_event_loop.append(False)
        else:
            self.on_event_loop.append(True)

    def claim(self, namespace: str, key: str, ttl_seconds: float) -> bool:
        self._record()
        return super().claim(namespace, key, ttl_seconds)

    def is_marked(self, namespace: str, key: str) -> bool:
        self._record()
        return super().is_marked(namespace, key)


def test_state_on_the_network_is_never_called_on_the_event_loop(tmp_path: Path) -> None:
    state = NetworkState(tmp_path / "state.sqlite")
    enqueuer = InMemoryEnqueuer()
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=enqueuer, state=state))
    body = encode(payload("github", "push.4"))
    for _ in range(2):  # the second is a duplicate: answered from the claim alone
        headers = github_headers("push", body, delivery="d-net")
        assert client.post("/webhooks/github", content=body, headers=headers).status_code in (
            200,
            202,
        )
    assert state.on_event_loop and not any(state.on_event_loop)
    assert enqueuer.jobs == [push_job("d-net")]
    state.close()


# --- the embedded queue, awaited on the event loop ----------------------------------------


def test_embedded_queue_has_the_job_on_disk_when_the_delivery_is_answered(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    state = SqliteState(tmp_path / "state.sqlite")
    client = TestClient(create_app(settings, enqueuer=enqueuer, state=state))
    body = encode(payload("github", "push.4"))
    response = client.post(
        "/webhooks/github", content=body, headers=github_headers("push", body, delivery="d-disk")
    )
    assert response.status_code == 202
    with sqlite3.connect(tmp_path / "queue.sqlite") as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM messages").fetchone()
    assert count == 1
    enqueuer.close()
    state.close()


def test_unwritable_embedded_queue_is_503_and_a_redelivery_gets_through(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    state = SqliteState(tmp_path / "state.sqlite")
    broken = EmbeddedEnqueuer(blocked / "queue.sqlite")
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=broken, state=state))
    body = encode(payload("github", "push.4"))
    headers = github_headers("push", body, delivery="d-503")
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 503
    working = InMemoryEnqueuer()
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=working, state=state))
    headers = github_headers("push", body, delivery="d-503")
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 202
    assert working.jobs == [push_job("d-503")]
    state.close()


def _installation(repositories: int) -> bytes:
    data = payload("github", "installation.1")
    template = data["repositories"][0]
    data["repositories"] = [
        dict(template, full_name=f"Codertocat/repo-{n}") for n in range(repositories)
    ]
    return encode(data)


def _stored_messages(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM messages").fetchone()
    return int(count)


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages each commit of the embedded queue stored."""
    counted: list[int] = []
    put_many = SqliteQueue.put_many

    def counting(store: SqliteQueue, messages: Sequence[NewMessage]) -> None:
        counted.append(len(messages))
        put_many(store, messages)

    monkeypatch.setattr(SqliteQueue, "put_many", counting)
    return counted


def test_an_installation_s_scans_are_queued_in_one_commit(
    tmp_path: Path, transactions: list[int]
) -> None:
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    state = SqliteState(tmp_path / "state.sqlite")
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=enqueuer, state=state))
    body = _installation(300)
    response = client.post(
        "/webhooks/github", content=body, headers=github_headers("installation", body)
    )
    assert response.status_code == 202
    assert len(response.json()["jobs"]) == 300
    assert transactions == [300]
    enqueuer.close()
    state.close()


def test_a_large_delivery_queued_from_a_thread_is_one_commit_and_gives_claims_back_on_failure(
    tmp_path: Path, transactions: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Receiver.handle` (the path of large payloads and network state): the same batch."""
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    state = SqliteState(tmp_path / "state.sqlite")
    the_receiver = receiver.Receiver(
        {"github": GITHUB_SECRET.encode()}, state, enqueuer, installation_spacing=SPACING
    )
    body = _installation(50)
    headers = github_headers("installation", body, delivery="d-big")
    disk_full = OSError("disk full")
    put_many = SqliteQueue.put_many

    def failing(store: SqliteQueue, messages: Sequence[NewMessage]) -> None:
        raise disk_full

    monkeypatch.setattr(SqliteQueue, "put_many", failing)
    assert the_receiver.handle("github", headers, body).status_code == 503
    monkeypatch.setattr(SqliteQueue, "put_many", put_many)
    retried = the_receiver.handle("github", headers, body)  # every claim was given back
    assert retried.status_code == 202
    assert len(retried.body["jobs"]) == 50
    assert transactions == [50]
    assert _stored_messages(tmp_path / "queue.sqlite") == 50
    enqueuer.close()
    state.close()


def test_a_commit_slower_than_the_wait_answers_503_and_the_next_delivery_gets_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiver, "QUEUE_WAIT_SECONDS", 0.2)
    commit_started = threading.Event()
    disk_back = threading.Event()
    put_many = SqliteQueue.put_many

    def stalled_once(store: SqliteQueue, messages: Sequence[NewMessage]) -> None:
        if not commit_started.is_set():
            commit_started.set()
            disk_back.wait(timeout=30)
        put_many(store, messages)

    monkeypatch.setattr(SqliteQueue, "put_many", stalled_once)
    enqueuer = EmbeddedEnqueuer(tmp_path / "queue.sqlite")
    state = SqliteState(tmp_path / "state.sqlite")
    client = TestClient(create_app(make_settings(tmp_path), enqueuer=enqueuer, state=state))
    body = encode(payload("github", "push.4"))

    def deliver(delivery: str) -> int:
        headers = github_headers("push", body, delivery=delivery)
        return int(client.post("/webhooks/github", content=body, headers=headers).status_code)

    assert deliver("d-stalled") == 503  # its commit hangs past the wait
    assert commit_started.wait(timeout=10)
    assert deliver("d-behind") == 503  # waits behind it, gives up: withdrawn
    disk_back.set()
    assert deliver("d-next") == 202  # the writer survived the caller that gave up
    # "d-stalled" was already being written when it was answered (a redelivery may queue it
    # again: at-least-once); "d-behind" was withdrawn, as its 503 said.
    assert _stored_messages(tmp_path / "queue.sqlite") == 2
    enqueuer.close()
    state.close()
