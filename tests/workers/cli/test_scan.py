"""`pullpolicy scan github|gitlab OWNER/REPO` (workers/cli/service.py `run_scan_once`): the real
command in its own process against the local fake forge, dry run and real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakeforge import FakeForge

TOKEN = "glpat-cli-scan-secret"
REPO = "acme/deploys"
POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    "  - {name: a, image: a:1}\n"
)


def _scan(
    fake: FakeForge, tmp_path: Path, forge: str, *extra: str
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
        [sys.executable, "-m", "workers.cli", "scan", forge, REPO, *extra],
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
