"""Reviews of people's pull requests with real processes: signed `pull_request` webhook →
uvicorn → Redis → Celery worker process → the local forge's check runs and review comments.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.bot.helpers import payload
from tests.e2e.harness import Bot, github_push, gitlab_push, wait_for
from tests.fakeforge import FakeForge
from tests.fakeforge.records import DiffComment
from workers.config.model import DEFAULT_BRANCH
from workers.core.explain import parse_marker
from workers.core.review import FIXED_REPLY

pytestmark = pytest.mark.e2e

TWO_CONTAINERS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.2
      - name: proxy
        image: envoy:1.30
        imagePullPolicy: IfNotPresent
"""
_installations = itertools.count(9100)


@dataclass
class Pull:
    """A person's pull request (GitHub) or merge request (GitLab) on the fake forge, and how
    to tell the bot about it."""

    kind: str
    name: str
    number: int
    forge: FakeForge
    bot: Bot
    installation: int
    head_repo: str

    @property
    def head(self) -> str:
        return self.forge.pull_head(self.name, self.number)

    def deliver(self, action: str, delivery: str | None = None, **pull: Any) -> httpx.Response:
        """GitHub's action names; GitLab's hook says open/update/reopen."""
        if self.kind == "gitlab":
            return self._deliver_gitlab(action, delivery, pull.pop("head_ref", "feature"))
        body = copy.deepcopy(payload("github", "pull_request.0"))
        body["action"] = action
        body["number"] = self.number
        body["installation"] = {"id": self.installation}
        body["repository"] = {**body["repository"], "full_name": self.name}
        head_ref = pull.pop("head_ref", "feature")
        request = body["pull_request"]
        request.update(number=self.number, state="open", draft=False, **pull)
        request["base"] = {**request["base"], "ref": "main"}
        request["head"] = {
            **request["head"],
            "ref": head_ref,
            "sha": self.head,
            "repo": {**request["head"]["repo"], "full_name": self.head_repo},
        }
        response = self.bot.github("pull_request", body, delivery=delivery)
        assert response.status_code in (200, 202), response.text
        return response

    def _deliver_gitlab(self, action: str, delivery: str | None, head_ref: str) -> httpx.Response:
        body = copy.deepcopy(payload("gitlab", "merge_request"))
        source = self.forge.gitlab_project_id(self.head_repo)
        target = self.forge.gitlab_project_id(self.name)
        body["project"] = {**body["project"], "path_with_namespace": self.name, "id": target}
        body["object_attributes"].update(
            action={"opened": "open", "synchronize": "update"}.get(action, action),
            iid=self.number,
            state="opened",
            draft=False,
            work_in_progress=False,
            source_branch=head_ref,
            target_branch="main",
            source_project_id=source,
            target_project_id=target,
            last_commit={**body["object_attributes"]["last_commit"], "id": self.head},
            oldrev="0" * 40 if action == "synchronize" else None,
        )
        response = self.bot.gitlab("Merge Request Hook", body, delivery=delivery)
        assert response.status_code in (200, 202), response.text
        return response

    def reviews_of(self, head: str) -> int:
        scans = httpx.get(f"{self.bot.url}/status.json", timeout=5).json()["scans"]
        return sum(1 for s in scans if s["repository"] == self.name and s["head_sha"] == head)

    def wait_reviewed(self, head: str, times: int = 1) -> None:
        try:
            wait_for(lambda: self.reviews_of(head) >= times, what=f"{times} review(s) of {head}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.bot.diagnostics()}") from None

    def comments(self) -> list[DiffComment]:
        return self.forge.diff_comments(self.name, self.number)

    def suggestions(self) -> list[DiffComment]:
        return [c for c in self.comments() if c.in_reply_to is None]

    def checks(self, head: str) -> list[str]:
        """Conclusions of the check runs (GitHub) or commit states (GitLab) on `head`."""
        if self.kind == "gitlab":
            return [s["status"] for s in self.forge.statuses(self.name) if s["sha"] == head]
        return [r["conclusion"] for r in self.forge.check_runs(self.name) if r["head_sha"] == head]


def _repository(forge: FakeForge, files: dict[str, str] | None = None) -> tuple[str, int]:
    name = f"people-{uuid.uuid4().hex[:8]}/deploys"
    forge.create_repo(name, {"README.md": "# deploys\n", **(files or {})})
    installation = next(_installations)
    forge.add_installation(installation, [name])
    return name, installation


KINDS = pytest.mark.parametrize("kind", ["github", "gitlab"])


@pytest.fixture(params=["github", "gitlab"])
def pull(request: pytest.FixtureRequest, forge: FakeForge, bot: Bot) -> Pull:
    name, installation = _repository(forge)
    number = forge.open_pull(name, "feature", {"k8s/web.yaml": TWO_CONTAINERS})
    return Pull(str(request.param), name, number, forge, bot, installation, name)


def test_suggestions_committed_then_the_next_push_resolves_them_and_passes(pull: Pull) -> None:
    first = pull.head
    pull.deliver("opened")
    pull.wait_reviewed(first)
    # GitLab has no neutral state: findings that do not fail the check are a success there.
    assert pull.checks(first) == ["neutral" if pull.kind == "github" else "success"]
    if pull.kind == "github":
        (run,) = pull.forge.check_runs(pull.name)
        assert run["name"] == "pullpolicy" and len(run["annotations"]) == 2
        assert pull.forge.reviews(pull.name, pull.number)[0][0] == "COMMENTED"
    suggestions = pull.suggestions()
    assert [(c.path, c.line) for c in suggestions] == [("k8s/web.yaml", 9), ("k8s/web.yaml", 12)]

    # Bottom up, as GitHub's batch of suggestions does: each keeps the lines above in place.
    for comment in reversed(suggestions):
        pull.forge.commit_suggestion(pull.name, pull.number, comment.id)
    second = pull.head
    fixed = pull.forge.read(pull.name, second, "k8s/web.yaml") or b""
    assert (
        fixed
        == TWO_CONTAINERS.replace("web:1.2\n", "web:1.2\n        imagePullPolicy: Always\n")
        .replace("IfNotPresent", "Always")
        .encode()
    )
    pull.deliver("synchronize")
    pull.wait_reviewed(second)
    assert pull.checks(second) == ["success"]
    replies = [c.body for c in pull.comments() if c.in_reply_to is not None]
    assert replies == [FIXED_REPLY.format(sha=second[:12])] * 2
    if pull.kind == "gitlab":
        assert all(c.resolved for c in pull.comments())


def test_redelivered_and_racing_synchronize_events_never_duplicate(pull: Pull) -> None:
    head = pull.head
    delivery = str(uuid.uuid4())
    assert pull.deliver("synchronize", delivery).status_code == 202
    assert pull.deliver("synchronize", delivery).status_code == 200  # the redelivery: ignored
    for _ in range(3):  # racing deliveries of the same push (distinct ids): all reviewed
        pull.deliver("synchronize")
    pull.wait_reviewed(head, times=4)
    assert len(pull.suggestions()) == 2
    assert len(pull.forge.reviews(pull.name, pull.number)) == (pull.kind == "github")


@KINDS
def test_a_fork_pull_request_is_reviewed_without_a_write_to_the_fork(
    kind: str, forge: FakeForge, bot: Bot
) -> None:
    name, installation = _repository(forge)
    fork = f"someone-{uuid.uuid4().hex[:6]}/deploys"
    forge.create_repo(fork, {"README.md": "fork\n"})
    fork_head = forge.branch_head(fork, "main")
    number = forge.open_pull(name, "patch-1", {"k8s/web.yaml": TWO_CONTAINERS}, fork=fork)
    pull = Pull(kind, name, number, forge, bot, installation, fork)
    pull.deliver("opened", head_ref="patch-1")
    pull.wait_reviewed(pull.head)
    assert len(pull.suggestions()) == 2
    fork_path = (fork, fork.replace("/", "%2F"))
    assert not [path for _, path in forge.requests if any(f in path for f in fork_path)]
    assert forge.branch_head(fork, "main") == fork_head
    assert forge.check_runs(fork) == [] and forge.statuses(fork) == []


@KINDS
def test_the_bots_own_pull_request_is_never_reviewed(kind: str, forge: FakeForge, bot: Bot) -> None:
    name, installation = _repository(forge)
    number = forge.open_pull(name, DEFAULT_BRANCH, {"k8s/web.yaml": TWO_CONTAINERS})
    pull = Pull(kind, name, number, forge, bot, installation, name)
    response = pull.deliver("opened", head_ref=DEFAULT_BRANCH)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert pull.checks(pull.head) == [] and pull.comments() == []


def pushes_scanned(bot: Bot, name: str, head: str) -> bool:
    """A scan of the default branch at `head` finished (a fast-forward merge's head was
    reviewed before: that record does not count)."""
    scans = httpx.get(f"{bot.url}/status.json", timeout=5).json()["scans"]
    return any(
        s["repository"] == name and s["head_sha"] == head and s["outcome"] != "reviewed"
        for s in scans
    )


OLD_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: old}
spec:
  template:
    spec:
      containers:
      - name: old
        image: old:1
"""


@KINDS
def test_declined_suggestions_are_not_proposed_by_the_fix_pr_once_merged(
    kind: str, forge: FakeForge, bot: Bot
) -> None:
    """GitHub: the bot's request-changes review, dismissed by a person; GitLab: a reply
    `pullpolicy: ignore` on each discussion. The next push is reviewed clean; once the pull
    request merges, the fix PR proposes only the default branch's older finding."""
    config = {".pullpolicy.yml": "review_event: request_changes\n", "k8s/old.yaml": OLD_JOB}
    name, installation = _repository(forge, config)
    number = forge.open_pull(name, "feature", {"k8s/web.yaml": TWO_CONTAINERS})
    pull = Pull(kind, name, number, forge, bot, installation, name)
    pull.deliver("opened")
    pull.wait_reviewed(pull.head)
    if kind == "github":
        assert [state for state, _ in forge.reviews(name, number)] == ["CHANGES_REQUESTED"]
        forge.dismiss_review(name, number)
    else:
        for comment in pull.suggestions():
            forge.reply_to_comment(name, number, comment.id, "pullpolicy: ignore")
    forge.push_to_pull(name, number, {"README.md": "# deploys, reviewed\n"}, "docs")
    second = pull.head
    pull.deliver("synchronize")
    pull.wait_reviewed(second)
    assert pull.checks(second) == ["success"]
    assert len(pull.suggestions()) == 2
    assert not [c for c in pull.comments() if c.body.startswith("pullpolicy: fixed")]

    before = forge.branch_head(name, "main") or ""
    forge.merge(name, number)
    after = forge.branch_head(name, "main") or ""
    if kind == "github":
        response = bot.github("push", github_push(name, installation, before, after, []))
    else:
        response = bot.gitlab("Push Hook", gitlab_push(name, before, after, []))
    assert response.status_code == 202, response.text
    wait_for(lambda: pushes_scanned(bot, name, after), what=f"the scan of {after}")
    (fix,) = [r for r in forge.change_requests(name) if r.state == "open"]
    marker = parse_marker(fix.body)
    assert marker is not None and len(marker[1]) == 1  # k8s/old.yaml's container only
    assert "k8s/old.yaml" in fix.body
    declined = [line for line in fix.body.splitlines() if "declined: " in line]
    assert len(declined) == 2 and all("k8s/web.yaml" in line for line in declined)


CHART_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
      - name: web
        image: web:1
        imagePullPolicy: {{ .Values.image.pullPolicy }}
"""


@KINDS
def test_a_changed_chart_is_rendered_and_its_values_line_suggested(
    kind: str, forge: FakeForge, bot: Bot
) -> None:
    chart = {
        "app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "app/values.yaml": "image:\n  pullPolicy: Always\n",
        "app/templates/deploy.yaml": CHART_TEMPLATE,
    }
    name, installation = _repository(forge, chart)
    changed = {"app/values.yaml": "image:\n  pullPolicy: IfNotPresent\n"}
    number = forge.open_pull(name, "feature", changed)
    pull = Pull(kind, name, number, forge, bot, installation, name)
    pull.deliver("opened")
    pull.wait_reviewed(pull.head)
    (suggestion,) = pull.suggestions()
    assert (suggestion.path, suggestion.line) == ("app/values.yaml", 2)
    assert "\n  pullPolicy: Always\n```" in suggestion.body
    pull.forge.commit_suggestion(name, number, suggestion.id)
    fixed = pull.head
    pull.deliver("synchronize")
    pull.wait_reviewed(fixed)
    assert pull.checks(fixed) == ["success"]
