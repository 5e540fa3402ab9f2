"""Onboarding a whole installation against a forge that runs out of requests, with real
processes (`pullpolicy serve`: receiver + worker on the embedded queue): every repository gets
scanned, the forge never answers 403 for the rate limit because the worker paces itself on its
headers, and a push made meanwhile is scanned ahead of the onboarding backlog.

Small scale and compressed time (a window of seconds, not an hour); bench/bench_onboarding.py
runs the same at organization scale.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import (
    DEPLOYMENT,
    Bot,
    github_installation,
    github_push,
    metric_sum,
    settings_env,
    wait_for,
)
from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey

pytestmark = pytest.mark.e2e

REPOSITORIES = 12
WITH_MANIFESTS = 3  # every fourth repository deploys something
INSTALLATION = 8100
# Compressed time: a window of WINDOW_SECONDS holds LIMIT requests, fewer than the worker would
# spend in it unpaced. Onboarding scans leave half of such a small window to pushes
# (workers.tasks.pacing), so the installation takes several windows.
LIMIT = 56
WINDOW_SECONDS = 20.0
SCANS = "pullpolicy_scans_total"


@pytest.fixture
def names(forge: FakeForge) -> list[str]:
    owner = f"org-{uuid.uuid4().hex[:8]}"
    made = []
    for number in range(REPOSITORIES):
        name = f"{owner}/service-{number:02d}"
        files = {"README.md": f"# service {number}\n"}
        if number % (REPOSITORIES // WITH_MANIFESTS) == 0:
            files["k8s/web.yaml"] = DEPLOYMENT
        forge.create_repo(name, files)
        made.append(name)
    forge.add_installation(INSTALLATION, made)
    return made


@pytest.fixture
def bot(forge: FakeForge, app_key: AppKey, tmp_path: Path) -> Iterator[Bot]:
    env = settings_env(
        github_api_url=forge.github_api_url,
        gitlab_url=forge.gitlab_url,
        private_key=app_key.private_pem,
        data_dir=tmp_path / "data",
        redis_url=None,  # the embedded default: one `pullpolicy serve`
    )
    env["PULLPOLICY_PACING_SPREAD_SECONDS"] = "1"
    running = Bot(env, tmp_path)
    try:
        running.start_receiver(embedded_worker=True)
        yield running
    finally:
        running.stop()


def test_an_installation_is_onboarded_within_its_rate_limit_and_pushes_go_first(
    forge: FakeForge, bot: Bot, names: list[str]
) -> None:
    forge.limit_rate(LIMIT, window_seconds=WINDOW_SECONDS)
    try:
        response = bot.github("installation", github_installation(names, INSTALLATION))
        assert response.status_code == 202, response.text
        wait_for(lambda: metric_sum(bot, SCANS) >= 1, what="the first onboarding scan")
        pushed = names[-1]  # the last repository of the installation: surely still waiting
        before = forge.branch_head(pushed, "main") or ""
        after = forge.push_commit(pushed, "main", {"k8s/api.yaml": DEPLOYMENT}, "add the api")
        body = github_push(pushed, INSTALLATION, before, after, ["k8s/api.yaml"])
        assert bot.github("push", body).status_code == 202

        def push_scanned() -> bool:
            scans = httpx.get(f"{bot.url}/status.json", timeout=5).json()["scans"]
            return any(scan["head_sha"] == after for scan in scans)

        wait_for(push_scanned, timeout=120, what=f"the push's scan\n{bot.diagnostics()}")
        finished_when_pushed = metric_sum(bot, SCANS)
        wait_for(
            lambda: metric_sum(bot, SCANS) >= REPOSITORIES + 1,
            timeout=300,
            what=f"every repository scanned\n{bot.diagnostics()}",
        )
    finally:
        refused = forge.rate_limited
        forge.limit_rate(None)  # (resets the counts)
    # The push did not wait for the backlog: initial scans were still to come when it was done.
    assert finished_when_pushed < REPOSITORIES + 1
    assert refused == 0  # never answered 403 for the rate limit
    assert (
        metric_sum(bot, "pullpolicy_scan_retries_total", reason="paced") > 0
    )  # the budget did bind: the worker waited for resets
    deploying = set(names[:: REPOSITORIES // WITH_MANIFESTS]) | {pushed}
    assert {name for name in names if forge.change_requests(name)} == deploying
