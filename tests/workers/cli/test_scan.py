"""`pullpolicy scan github|gitlab OWNER/REPO` (workers/cli/service.py `run_scan_once`): the real
command in its own process against the local fake forge, dry run and real."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakeforge import FakeForge
from workers.jobs import BACKLOG_QUEUE, ONBOARDING, ScanJob

TOKEN = "glpat-cli-scan-secret"
REPO = "acme/deploys"
POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    "  - {name: a, image: a:1}\n"
)


def _scan(
    fake: FakeForge, tmp_path: Path, forge: str, *extra: str, target: str = REPO
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PULLPOLICY_")}
    environ.update(
        {
            "PULLPOLICY_DATA_DIR": str(tmp_path / "data"),
            "PULLPOLICY_FORGE_READ_RETRIES": "0",
            "PULLPOLICY_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
            "PULLPOLICY_GITHUB_SECONDS_BETWEEN_WRITES": "0",
        }
    )
    if forge == "github":
        environ["PULLPOLICY_GITHUB_API_URL"] = fake.github_api_url
        environ["PULLPOLICY_GITHUB_TOKEN"] = TOKEN
    else:
        environ["PULLPOLICY_GITLAB_URL"] = fake.gitlab_url
        environ["PULLPOLICY_GITLAB_TOKEN"] = TOKEN
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", "scan", forge, target, *extra],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_scan_dry_run_then_real(forge: str, fake_forge: FakeForge, tmp_path: Path) -> None:
    fake_forge.add_token(TOKEN)
    fake_forge.create_repo(REPO, {"pod.yaml": POD})

    dry = _scan(fake_forge, tmp_path, forge, "--dry-run")
    assert dry.returncode == 1, dry.stderr  # findings
    lines = dict(line.split(": ", 1) for line in dry.stdout.splitlines())
    assert lines["repo"] == REPO
    assert lines["findings"] == "1"
    assert lines["action"] == "dry-run: would change pod.yaml"
    assert fake_forge.change_requests(REPO) == []

    real = _scan(fake_forge, tmp_path, forge)
    assert real.returncode == 1, real.stderr
    lines = dict(line.split(": ", 1) for line in real.stdout.splitlines())
    assert lines["action"] == "opened"
    [request] = fake_forge.change_requests(REPO)
    assert lines["pr_number"] == str(request.number)
    assert TOKEN not in real.stdout + real.stderr


def test_scan_without_credentials_is_a_settings_error(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PULLPOLICY_")}
    environ["PULLPOLICY_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "scan", "gitlab", REPO],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "pullpolicy: GitLab needs PULLPOLICY_GITLAB_TOKEN (and PULLPOLICY_GITLAB_URL)\n"
    )


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_a_repository_the_forge_does_not_have_is_a_clear_error_not_a_crash(
    forge: str, fake_forge: FakeForge, tmp_path: Path
) -> None:
    fake_forge.add_token(TOKEN)  # the token is good; the repository does not exist
    result = _scan(fake_forge, tmp_path, forge, "--dry-run")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("pullpolicy: ") and REPO in line
    assert "internal error" not in line and TOKEN not in result.stderr + result.stdout


def _queued(data_dir: Path) -> list[ScanJob]:
    with sqlite3.connect(data_dir / "queue.sqlite") as connection:
        rows = connection.execute("SELECT queue, payload FROM messages ORDER BY rowid").fetchall()
    jobs = []
    for queue, stored in rows:
        body = json.loads(base64.b64decode(json.loads(stored)["body"]))
        job = ScanJob.from_dict(body[0][0])
        assert queue == job.queue == BACKLOG_QUEUE  # behind any push, paced by the workers
        jobs.append(job)
    return jobs


def test_a_gitlab_group_is_queued_for_onboarding_subgroups_included(
    fake_forge: FakeForge, tmp_path: Path
) -> None:
    fake_forge.add_token(TOKEN)
    inside = ["acme/platform/api", "acme/platform/web", "acme/platform/tools/ci"]
    for name in [*inside, "acme/other", "acme/platformer/x"]:
        fake_forge.create_repo(name, {"pod.yaml": POD})
    listed = _scan(fake_forge, tmp_path, "gitlab", "--group", "--dry-run", target="acme/platform")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        *sorted(inside),
        "3 project(s) in acme/platform; nothing queued (dry run)",
    ]
    assert not (tmp_path / "data" / "queue.sqlite").exists()
    queued = _scan(fake_forge, tmp_path, "gitlab", "--group", target="acme/platform")
    assert queued.returncode == 0, queued.stderr
    jobs = _queued(tmp_path / "data")
    assert sorted(job.repo for job in jobs) == sorted(inside)
    assert {(job.forge, job.reason) for job in jobs} == {("gitlab", ONBOARDING)}
    assert fake_forge.change_requests("acme/platform/api") == []  # queued, not scanned here


def test_an_unknown_group_or_a_forge_without_groups_is_a_clear_error(
    fake_forge: FakeForge, tmp_path: Path
) -> None:
    fake_forge.add_token(TOKEN)
    missing = _scan(fake_forge, tmp_path, "gitlab", "--group", target="nobody/here")
    assert missing.returncode == 2
    assert missing.stderr.startswith("pullpolicy: gitlab group nobody/here: ")
    github = _scan(fake_forge, tmp_path, "github", "--group", target="acme")
    assert github.returncode == 2
    assert (
        github.stderr
        == "pullpolicy: github has no groups to list: scan its repositories one by one\n"
    )
