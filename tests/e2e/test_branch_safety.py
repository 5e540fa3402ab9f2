"""A branch holding someone's work is never touched, with real processes: a signed push →
receiver → Redis → worker → the local forge leaves the branch as it was and says why on the
commit (check run / status), on /status and in the worker's log. On GitHub and on GitLab.
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.harness import DEPLOYMENT, Bot, wait_for
from tests.e2e.test_bot import Repo
from tests.fakeforge import FakeForge
from workers.config.model import DEFAULT_BRANCH

pytestmark = pytest.mark.e2e

THEIR_FILE = {"NOTES.md": "a person's unfinished work\n"}
_installations = itertools.count(8000)


@pytest.fixture(params=["github", "gitlab"])
def repo(request: pytest.FixtureRequest, forge: FakeForge, bot: Bot) -> Repo:
    name = f"safe-{uuid.uuid4().hex[:8]}/deploys"
    forge.create_repo(name, {"README.md": "# deploys\n"})
    installation = next(_installations)
    forge.add_installation(installation, [name])
    return Repo(str(request.param), name, forge, bot, installation)


def finished_scan(repo: Repo) -> dict[str, Any]:
    """The repository's scan as /status lists it, once a worker finished one."""

    def listed() -> dict[str, Any]:
        scans = httpx.get(f"{repo.bot.url}/status.json", timeout=5).json()["scans"]
        return next((scan for scan in scans if scan["repository"] == repo.name), {})

    try:
        return wait_for(listed, what=f"a finished scan of {repo.name} on /status")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{repo.bot.diagnostics()}") from None


def reports(repo: Repo) -> str:
    found = repo.forge.check_runs if repo.kind == "github" else repo.forge.statuses
    return json.dumps(found(repo.name))


def worker_lines(repo: Repo, message: str) -> list[dict[str, Any]]:
    lines = []
    for process in repo.bot.processes:
        for line in process.output().splitlines():
            if line.startswith("{") and repo.name in line:
                entry = json.loads(line)
                if entry.get("message") == message:
                    lines.append(entry)
    return lines


def test_a_foreign_branch_with_the_default_name_is_left_untouched(repo: Repo) -> None:
    theirs = repo.forge.push_commit(repo.name, DEFAULT_BRANCH, THEIR_FILE, "my work")
    repo.push({"k8s/web.yaml": DEPLOYMENT})
    scan = finished_scan(repo)
    assert scan["outcome"] == "branch-blocked"
    assert "not pullpolicy's" in scan["detail"] and DEFAULT_BRANCH in scan["detail"]
    assert repo.forge.branch_head(repo.name, DEFAULT_BRANCH) == theirs
    assert repo.forge.read(repo.name, theirs, "NOTES.md") == THEIR_FILE["NOTES.md"].encode()
    assert repo.requests() == []
    assert DEFAULT_BRANCH in reports(repo) and "not pullpolicy's" in reports(repo)
    (logged,) = worker_lines(repo, "branch left alone")
    assert DEFAULT_BRANCH in logged["reason"]


def test_a_foreign_configured_branch_is_a_config_error_and_left_untouched(repo: Repo) -> None:
    theirs = repo.forge.push_commit(repo.name, "dev", THEIR_FILE, "my work")
    repo.push({"k8s/web.yaml": DEPLOYMENT, ".pullpolicy.yml": "pull_request:\n  branch: dev\n"})
    scan = finished_scan(repo)
    assert scan["outcome"] == "invalid-config"
    assert "`dev`" in scan["detail"]
    assert repo.forge.branch_head(repo.name, "dev") == theirs
    assert repo.requests() == []
    assert "pull_request.branch" in reports(repo) and "`dev`" in reports(repo)
    (logged,) = worker_lines(repo, "branch left alone")
    assert "`dev`" in logged["reason"]
