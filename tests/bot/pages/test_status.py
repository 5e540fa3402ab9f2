"""/status: configured or not, the queue depth read from the real broker, the latest scans —
escaped, and without a secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.main import create_app
from bot.webhooks.enqueue import CeleryEnqueuer, EmbeddedEnqueuer, InMemoryEnqueuer, enqueuer_for
from tests.bot.setup_helpers import SetupBot
from tests.fakeforge import FakeForge
from workers.jobs import SCAN_QUEUE, ScanJob
from workers.runtime.activity import ScanRecord, SqliteActivity, open_activity
from workers.runtime.queue_depth import queue_depth
from workers.runtime.rate_budget import RateBudget
from workers.runtime.rate_budget import record as record_budgets
from workers.runtime.settings import Settings
from workers.runtime.state import SqliteState


def record(**overrides: Any) -> ScanRecord:
    values: dict[str, Any] = {
        "forge": "github",
        "repository": "acme/deploys",
        "head_sha": "a" * 40,
        "outcome": "opened",
        "findings": 2,
        "pr_number": 7,
        "pr_url": "https://github.com/acme/deploys/pull/7",
        "reason": "push",
        "finished_at": "2026-01-01T00:00:00+00:00",
    }
    values.update(overrides)
    return ScanRecord(**values)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data")
    state = SqliteState(tmp_path / "state.sqlite")
    with TestClient(create_app(settings, enqueuer=InMemoryEnqueuer(), state=state)) as made:
        yield made
    state.close()


def test_unconfigured_bot_points_to_setup(client: TestClient) -> None:
    snapshot = client.get("/status.json").json()
    assert snapshot == {
        "github": {"configured": False},
        "gitlab": {"configured": False},
        "queue": {"broker": "embedded", "waiting": 0},
        "onboarding": {"waiting": 0, "eta_seconds": None, "windows": []},
        "scans": [],
    }
    page = client.get("/status")
    assert page.headers["content-type"].startswith("text/html")
    assert "not configured" in page.text and 'href="/setup"' in page.text
    negotiated = client.get("/status", headers={"Accept": "application/json"})
    assert negotiated.json() == snapshot


def test_latest_scans_are_listed_newest_first_and_escaped(
    client: TestClient, tmp_path: Path
) -> None:
    activity = SqliteActivity(tmp_path / "data" / "activity.sqlite")
    activity.record(record(repository="acme/first", pr_number=None, pr_url=None, outcome="none"))
    activity.record(
        record(repository="evil/<script>alert(1)</script>", pr_url="javascript:alert(1)")
    )
    activity.close()
    scans = client.get("/status.json").json()["scans"]
    assert [scan["repository"] for scan in scans] == [
        "evil/<script>alert(1)</script>",
        "acme/first",
    ]
    page = client.get("/status").text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in page  # not a link target
    assert "aaaaaaaaaaaa" in page and "opened" in page


def test_a_scan_that_left_the_branch_alone_says_why(client: TestClient, tmp_path: Path) -> None:
    activity = SqliteActivity(tmp_path / "data" / "activity.sqlite")
    why = "branch `pullpolicy/always-pull-images` has 1 commit(s) that are not pullpolicy's"
    activity.record(record(outcome="branch-blocked", pr_number=None, pr_url=None, detail=why))
    activity.close()
    (scan,) = client.get("/status.json").json()["scans"]
    assert (scan["outcome"], scan["detail"]) == ("branch-blocked", why)
    page = client.get("/status").text
    assert "branch-blocked: branch `pullpolicy/always-pull-images` has 1 commit(s)" in page


def test_the_app_set_up_is_shown_without_its_secrets(fake_forge: FakeForge, tmp_path: Path) -> None:
    bot = SetupBot(fake_forge, tmp_path / "data")
    try:
        form = bot.start()
        app, code = bot.create_on_github(form)
        assert bot.callback(code, form.state).status_code == 200
        github = bot.client.get("/status.json").json()["github"]
        assert github == {
            "configured": True,
            "source": "setup",
            "app_id": app.id,
            "slug": app.slug,
            "name": app.name,
            "owner": app.owner,
            "html_url": f"{fake_forge.web_url}/apps/{app.slug}",
            "install_url": f"{fake_forge.web_url}/apps/{app.slug}/installations/new",
        }
        page = bot.client.get("/status").text
        assert f'href="{fake_forge.web_url}/apps/{app.slug}/installations/new"' in page
        everything = page + bot.client.get("/status.json").text
        for secret in (app.pem, app.webhook_secret, app.client_secret, app.client_id):
            assert secret not in everything
    finally:
        bot.close()


def test_an_unusable_stored_app_is_reported_without_the_data_dirs_path(
    fake_forge: FakeForge, tmp_path: Path
) -> None:
    bot = SetupBot(fake_forge, tmp_path / "data")
    try:
        form = bot.start()
        _, code = bot.create_on_github(form)
        assert bot.callback(code, form.state).status_code == 200
        (bot.settings.data_dir / "github-app.json").chmod(0o644)  # refused: others can read it
        github = bot.client.get("/status.json").json()["github"]
        assert github["configured"] is False and "chmod 600" in github["error"]
        everything = bot.client.get("/status").text + bot.client.get("/status.json").text
        assert str(tmp_path) not in everything
    finally:
        bot.close()


def test_an_app_from_the_environment_is_shown_as_such(tmp_path: Path) -> None:
    settings = Settings(
        github_app_id=12,
        github_webhook_secret=SecretStr("s3cret-value"),
        gitlab_url="https://gitlab.example.com",
        gitlab_webhook_secret=SecretStr("gl-s3cret"),
        data_dir=tmp_path,
    )
    client = TestClient(create_app(settings, enqueuer=InMemoryEnqueuer()))
    response = client.get("/status.json")
    assert response.json()["github"] == {"configured": True, "source": "environment", "app_id": 12}
    assert response.json()["gitlab"] == {"configured": True}
    assert "s3cret" not in response.text + client.get("/status").text


def test_embedded_queue_depth_counts_the_scans_waiting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert queue_depth(settings).waiting == 0  # no queue file yet
    enqueuer = enqueuer_for(settings)
    for number in range(3):
        enqueuer.enqueue(ScanJob(forge="github", repo=f"acme/r{number}", reason="push"))
    depth = queue_depth(settings)
    assert (depth.broker, depth.waiting) == ("embedded", 3)


def test_redis_queue_depth_counts_the_scans_waiting(redis_url: str) -> None:
    # A database of its own: e2e workers elsewhere consume the default one's queue.
    url = redis_url.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    client.delete(SCAN_QUEUE)
    try:
        settings = Settings(broker_url=url)
        assert queue_depth(settings).waiting == 0
        enqueuer = CeleryEnqueuer(url)
        for number in range(2):
            enqueuer.enqueue(ScanJob(forge="gitlab", repo=f"g/r{number}", reason="push"))
        depth = queue_depth(settings)
        assert (depth.broker, depth.waiting) == ("redis", 2)
    finally:
        client.delete(SCAN_QUEUE)
        client.close()
    assert queue_depth(Settings(broker_url="amqp://guest@127.0.0.1:1//")).waiting is None


def test_redis_activity_keeps_the_newest(redis_url: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/13"
    activity = open_activity(Settings(redis_url=url))
    redis.Redis.from_url(url).delete("pullpolicy:activity:scans")
    try:
        for number in range(3):
            activity.record(record(repository=f"acme/r{number}"))
        assert [r.repository for r in activity.latest(2)] == ["acme/r2", "acme/r1"]
    finally:
        redis.Redis.from_url(url).delete("pullpolicy:activity:scans")
        activity.close()


def test_onboarding_shows_the_backlog_the_windows_and_an_eta(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    state = SqliteState(tmp_path / "state.sqlite")
    enqueuer = enqueuer_for(settings)
    assert isinstance(enqueuer, EmbeddedEnqueuer)
    initial = [
        ScanJob(forge="github", repo=f"acme/r{n}", reason="installation") for n in range(300)
    ]
    enqueuer.enqueue_all_soon([(job, 0.0) for job in initial]).result(timeout=10)
    enqueuer.enqueue(ScanJob(forge="github", repo="acme/pushed", reason="push"))
    enqueuer.close()
    reset = 1_900_000_000.0  # 2030-03-17 17:46:40 UTC
    record_budgets(state, "github", {"42": RateBudget(4000, 5000, reset)})
    with TestClient(create_app(settings, enqueuer=InMemoryEnqueuer(), state=state)) as client:
        snapshot = client.get("/status.json").json()
        page = client.get("/status").text
    assert snapshot["queue"]["waiting"] == 301
    onboarding = snapshot["onboarding"]
    # 5,000 requests an hour at 30 a scan: 166.7 scans an hour, 300 scans in 6,480 s.
    assert onboarding["waiting"] == 300 and onboarding["eta_seconds"] == 6480
    assert onboarding["windows"] == [
        {
            "forge": "github",
            "installation": "42",
            "remaining": 4000,
            "limit": 5000,
            "reset_at": reset,
        }
    ]
    assert "300 initial scan(s) waiting behind pushes, about 108 min" in page
    assert "4000 of 5000" in page and "2030-03-17 17:46:40" in page
    state.close()
