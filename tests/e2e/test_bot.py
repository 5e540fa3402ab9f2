"""The whole loop with real processes: signed webhook → uvicorn → Redis → Celery worker process →
the local forge, on GitHub and on GitLab. Slow by nature (processes, polling): one receiver and
two workers serve every test of a forge, each test on a repository of its own.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import (
    DEPLOYMENT,
    Bot,
    github_push,
    gitlab_push,
    settings_env,
    wait_for,
)
from tests.e2e.rabbitmq_service import rabbitmq_url
from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey
from tests.fakeforge.records import ChangeRequestRecord
from workers.config.model import DEFAULT_BRANCH

pytestmark = pytest.mark.e2e

JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      containers: [{name: migrate, image: "tools:3", imagePullPolicy: IfNotPresent}]
"""
FIXED = DEPLOYMENT + "        imagePullPolicy: Always\n"
_installations = itertools.count(7000)


@dataclass
class Repo:
    """One repository on the fake forge, and how to tell the bot about pushes to it."""

    kind: str
    name: str
    forge: FakeForge
    bot: Bot
    installation: int

    def push(self, files: dict[str, str | None], *, deliver: bool = True) -> str:
        before = self.forge.branch_head(self.name, "main") or ""
        after = self.forge.push_commit(self.name, "main", files, "change manifests")
        if deliver:
            self.deliver(before, after, list(files))
        return after

    def deliver(
        self, before: str, after: str, touched: list[str], delivery: str | None = None
    ) -> int:
        if self.kind == "github":
            body = github_push(self.name, self.installation, before, after, touched)
            response = self.bot.github("push", body, delivery=delivery)
        else:
            response = self.bot.gitlab(
                "Push Hook", gitlab_push(self.name, before, after, touched), delivery=delivery
            )
        assert response.status_code in (200, 202), response.text
        return response.status_code

    def wait_scanned(self, head: str, what: str) -> None:
        """Until a scan of commit `head` has finished: "nothing happened" is then a fact,
        not a guess made after a sleep."""
        wait_for(lambda: head in self.bot.scanned_heads(self.name), what=what)

    def requests(self) -> list[ChangeRequestRecord]:
        return self.forge.change_requests(self.name)

    def open_requests(self) -> list[ChangeRequestRecord]:
        return [r for r in self.requests() if r.state == "open"]

    def bot_file(self, path: str) -> bytes | None:
        head = self.forge.branch_head(self.name, DEFAULT_BRANCH)
        return None if head is None else self.forge.read(self.name, head, path)


@pytest.fixture(params=["github", "gitlab"])
def repo(request: pytest.FixtureRequest, forge: FakeForge, bot: Bot) -> Iterator[Repo]:
    kind = str(request.param)
    name = f"team-{uuid.uuid4().hex[:8]}/deploys"
    forge.create_repo(name, {"README.md": "# deploys\n"})
    installation = next(_installations)
    forge.add_installation(installation, [name])
    yield Repo(kind, name, forge, bot, installation)


def wait_single_pr(
    repo: Repo,
    predicate: Callable[[ChangeRequestRecord], bool] = lambda request: True,
    what: str = "one open PR",
) -> ChangeRequestRecord:
    """Wait until the repository has exactly one open PR and it satisfies `predicate`."""

    def check() -> list[ChangeRequestRecord]:
        open_ = repo.open_requests()
        return open_ if len(open_) == 1 and predicate(open_[0]) else []

    try:
        return wait_for(check, what=what)[0]
    except AssertionError as error:
        raise AssertionError(f"{error}\n{repo.bot.diagnostics()}") from None


def test_push_opens_one_pr_and_a_second_push_updates_it(repo: Repo) -> None:
    repo.push({"k8s/web.yaml": DEPLOYMENT})
    first = wait_single_pr(repo)
    assert repo.bot_file("k8s/web.yaml") == FIXED.encode()
    assert "registry.example.com/web:1.2" in first.body
    repo.push({"k8s/job.yaml": JOB})
    second = wait_single_pr(repo, lambda r: "migrate" in r.body, "the PR to mention the new job")
    assert second.number == first.number
    assert len(repo.requests()) == 1
    assert b"imagePullPolicy: Always}" in (repo.bot_file("k8s/job.yaml") or b"")
    assert_scan_metrics(repo.bot, repo.kind)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def scrape_until(bot: Bot, name: str, **labels: str) -> str:
    """/metrics once the sample `name{labels}` is there (workers record just after writing)."""

    def scraped() -> str:
        text = httpx.get(f"{bot.url}/metrics", timeout=5).text
        return text if metric(text, name, **labels) else ""

    return wait_for(scraped, what=f"{name}{labels} on /metrics")


def assert_scan_metrics(bot: Bot, forge: str) -> None:
    """The web process's /metrics shows the workers' scans (through the shared state), the
    PRs they opened and updated, and its own deliveries."""

    text = scrape_until(bot, "pullpolicy_pull_requests_total", forge=forge, action="updated")
    assert metric(text, "pullpolicy_scans_total", forge=forge, outcome="opened") >= 1
    assert metric(text, "pullpolicy_pull_requests_total", forge=forge, action="opened") >= 1
    assert metric(text, "pullpolicy_scan_duration_seconds_count", forge=forge) >= 2
    assert metric(text, "pullpolicy_forge_api_calls_total", forge=forge) > 0
    event = "push" if forge == "github" else "Push Hook"
    queued = metric(
        text, "pullpolicy_webhook_deliveries_total", forge=forge, event=event, outcome="queued"
    )
    assert queued >= 2
    assert httpx.get(f"{bot.url}/readyz", timeout=10).json()["status"] == "ready"


def test_redelivery_never_scans_twice(repo: Repo) -> None:
    before = repo.forge.branch_head(repo.name, "main") or ""
    after = repo.push({"k8s/web.yaml": DEPLOYMENT}, deliver=False)
    delivery = str(uuid.uuid4())
    assert repo.deliver(before, after, ["k8s/web.yaml"], delivery) == 202
    assert repo.deliver(before, after, ["k8s/web.yaml"], delivery) == 200  # duplicate, ignored
    wait_single_pr(repo)
    assert len(repo.requests()) == 1


def test_racing_pushes_end_with_one_pr_at_the_newest_head(repo: Repo) -> None:
    first_before = repo.forge.branch_head(repo.name, "main") or ""
    first = repo.push({"k8s/web.yaml": DEPLOYMENT}, deliver=False)
    second = repo.push({"k8s/job.yaml": JOB}, deliver=False)
    repo.deliver(first_before, first, ["k8s/web.yaml"])
    repo.deliver(first, second, ["k8s/job.yaml"])

    def at_newest_head(request: ChangeRequestRecord) -> bool:
        head = repo.forge.branch_head(repo.name, DEFAULT_BRANCH)
        return head is not None and repo.forge.commit_parents(repo.name, head) == [second]

    wait_single_pr(repo, at_newest_head, "the PR rebuilt on the newest head")
    assert len(repo.requests()) == 1
    assert repo.bot_file("k8s/web.yaml") == FIXED.encode()


def test_human_commit_stops_the_bot_with_one_comment(repo: Repo) -> None:
    repo.push({"k8s/web.yaml": DEPLOYMENT})
    wait_single_pr(repo)
    human = repo.forge.push_commit(repo.name, DEFAULT_BRANCH, {"NOTES.md": "mine\n"}, "tweak")
    repo.push({"k8s/job.yaml": JOB})
    wait_single_pr(repo, lambda r: len(r.comments) == 1, "the hands-off comment")
    last = repo.push({"k8s/other.yaml": JOB.replace("migrate", "other")})
    repo.wait_scanned(last, "the scan that could add a wrong second comment")
    (request,) = repo.open_requests()
    assert len(request.comments) == 1
    assert repo.forge.branch_head(repo.name, DEFAULT_BRANCH) == human


def test_fixed_by_hand_closes_the_pr_and_deletes_the_branch(repo: Repo) -> None:
    repo.push({"k8s/web.yaml": DEPLOYMENT})
    wait_single_pr(repo)
    repo.push({"k8s/web.yaml": FIXED})
    wait_for(lambda: not repo.open_requests(), what="the PR to close")
    wait_for(
        lambda: repo.forge.branch_head(repo.name, DEFAULT_BRANCH) is None, what="branch deletion"
    )
    assert [r.state for r in repo.requests()] == ["closed"]


def test_declined_pr_is_not_reopened_by_an_unrelated_push(repo: Repo) -> None:
    repo.push({"k8s/web.yaml": DEPLOYMENT})
    request = wait_single_pr(repo)
    repo.forge.close(repo.name, request.number)
    head = repo.push(
        {"README.md": "# deploys, unrelated\n", "k8s/web.yaml": DEPLOYMENT + "# touched\n"}
    )
    repo.wait_scanned(head, "the scan after the PR was declined")
    assert repo.open_requests() == []


def test_bad_signature_is_refused_and_queues_nothing(repo: Repo) -> None:
    before = repo.forge.branch_head(repo.name, "main") or ""
    after = repo.push({"k8s/web.yaml": DEPLOYMENT}, deliver=False)
    counted = deliveries(repo.bot, repo.kind)
    if repo.kind == "github":
        body = github_push(repo.name, repo.installation, before, after, ["k8s/web.yaml"])
        response = repo.bot.github("push", body, secret="not-the-secret")
    else:
        response = repo.bot.gitlab(
            "Push Hook", gitlab_push(repo.name, before, after, []), token="not-the-token"
        )
    assert response.status_code == 401
    # The receiver queues before it answers: nothing queued by now means nothing ever.
    now = deliveries(repo.bot, repo.kind)
    assert now["unauthorized"] == counted["unauthorized"] + 1
    assert now["queued"] == counted["queued"]
    assert repo.requests() == []


def deliveries(bot: Bot, forge: str) -> dict[str, float]:
    """The receiver's answered deliveries for `forge`, by outcome (all events together)."""
    totals: dict[str, float] = {"queued": 0.0, "unauthorized": 0.0}
    text = httpx.get(f"{bot.url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "pullpolicy_webhook_deliveries_total" and (
                sample.labels.get("forge") == forge
            ):
                outcome = sample.labels.get("outcome", "")
                totals[outcome] = totals.get(outcome, 0.0) + float(sample.value)
    return totals


def test_forge_storms_are_retried_to_one_pr(repo: Repo) -> None:
    repo.forge.fail_next(4, 502)
    repo.forge.fail_next(2, 429, retry_after=1)
    head = repo.push({"k8s/web.yaml": DEPLOYMENT})
    wait_single_pr(repo)
    repo.wait_scanned(head, "the retried scan to finish")
    assert len(repo.requests()) == 1


def test_worker_killed_mid_scan_is_redelivered(repo: Repo, bot: Bot) -> None:
    workers = [p for p in bot.processes if p.name.startswith("worker")]
    repo.forge.slow_next(6, 2.0)  # the scan now takes over ten seconds
    head = repo.push({"k8s/web.yaml": DEPLOYMENT})
    wait_for(lambda: repo.forge.requests, what="the scan to start")
    time.sleep(1)
    for worker in workers:
        worker.kill()
    bot.start_worker()
    wait_single_pr(repo, what="the redelivered scan's PR")
    repo.wait_scanned(head, "the redelivered scan to finish")
    assert len(repo.requests()) == 1


@contextmanager
def bot_of_its_own(
    forge: FakeForge,
    app_key: AppKey,
    tmp_path: Path,
    *,
    redis_url: str | None,
    broker_url: str | None = None,
) -> Iterator[Repo]:
    """A fresh bot (receiver + worker, or `serve` alone on the embedded queue) and a fresh
    repository it is installed on; stopped afterwards."""
    env = settings_env(
        github_api_url=forge.github_api_url,
        gitlab_url=forge.gitlab_url,
        private_key=app_key.private_pem,
        data_dir=tmp_path / "data",
        redis_url=redis_url,
    )
    if broker_url is not None:
        env["PULLPOLICY_BROKER_URL"] = broker_url
    bot = Bot(env, tmp_path)
    name = f"own-{uuid.uuid4().hex[:8]}/deploys"
    forge.create_repo(name, {"README.md": "# deploys\n"})
    installation = next(_installations)
    forge.add_installation(installation, [name])
    embedded = "PULLPOLICY_BROKER_URL" not in env
    try:
        bot.start_receiver(embedded_worker=embedded)  # embedded: one command runs everything
        if not embedded:
            bot.start_worker()
        yield Repo("github", name, forge, bot, installation)
    finally:
        bot.stop()


def test_embedded_mode_without_redis(forge: FakeForge, app_key: AppKey, tmp_path: Path) -> None:
    with bot_of_its_own(forge, app_key, tmp_path, redis_url=None) as repo:
        repo.push({"k8s/web.yaml": DEPLOYMENT})
        wait_single_pr(repo)
        assert repo.bot_file("k8s/web.yaml") == FIXED.encode()
        text = scrape_until(repo.bot, "pullpolicy_scans_total", forge="github", outcome="opened")
        assert metric(text, "pullpolicy_pull_requests_total", forge="github", action="opened") == 1
        assert httpx.get(f"{repo.bot.url}/readyz", timeout=10).status_code == 200


def test_rabbitmq_as_the_broker(
    forge: FakeForge, app_key: AppKey, redis_url: str, tmp_path: Path
) -> None:
    # Redis keeps only the shared state; the queue is RabbitMQ's.
    broker = rabbitmq_url()
    with bot_of_its_own(forge, app_key, tmp_path, redis_url=redis_url, broker_url=broker) as repo:
        repo.push({"k8s/web.yaml": DEPLOYMENT})
        wait_single_pr(repo)
        assert repo.bot_file("k8s/web.yaml") == FIXED.encode()
        readiness = httpx.get(f"{repo.bot.url}/readyz", timeout=10).json()
        assert readiness["checks"]["broker"] == "ok"
