"""git smart HTTP: the `git` CLI clones from and pushes to the same repositories the APIs serve."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import REPO, TOKEN, seeded

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Human",
    "GIT_AUTHOR_EMAIL": "human@example.com",
    "GIT_COMMITTER_NAME": "Human",
    "GIT_COMMITTER_EMAIL": "human@example.com",
}


def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def basic_auth(token: str) -> str:
    """git config sending credentials up front (git otherwise waits for a 401 challenge)."""
    encoded = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"http.extraHeader=Authorization: Basic {encoded}"


def test_clone_sees_the_seeded_files(fake_forge: FakeForge, tmp_path: Path) -> None:
    head = seeded(fake_forge)
    clone = tmp_path / "clone"
    result = git("clone", "--quiet", fake_forge.git_url(REPO), str(clone))
    assert result.returncode == 0, result.stderr
    assert (clone / "k8s" / "deploy.yaml").read_text() == "kind: Deployment\n"
    assert git("rev-parse", "HEAD", cwd=clone).stdout.strip() == head


def test_a_human_push_moves_the_branch_the_api_reads(fake_forge: FakeForge, tmp_path: Path) -> None:
    head = seeded(fake_forge)
    clone = tmp_path / "clone"
    assert git("clone", "--quiet", fake_forge.git_url(REPO), str(clone)).returncode == 0
    (clone / "k8s" / "deploy.yaml").write_text("kind: Deployment\n# edited by a human\n")
    assert git("commit", "--quiet", "-am", "human edit", cwd=clone).returncode == 0
    pushed = git("push", "--quiet", "origin", "HEAD:refs/heads/human", cwd=clone)
    assert pushed.returncode == 0, pushed.stderr
    new_head = fake_forge.branch_head(REPO, "human")
    assert new_head is not None and fake_forge.commit_parents(REPO, new_head) == [head]
    assert fake_forge.read(REPO, "human", "k8s/deploy.yaml") == (
        b"kind: Deployment\n# edited by a human\n"
    )


def test_credentials_when_sent_must_be_valid(fake_forge: FakeForge, tmp_path: Path) -> None:
    seeded(fake_forge)
    url = fake_forge.git_url(REPO)
    good = git("-c", basic_auth(TOKEN), "clone", "--quiet", url, str(tmp_path / "a"))
    assert good.returncode == 0, good.stderr
    bad = git("-c", basic_auth("nope"), "clone", "--quiet", url, str(tmp_path / "b"))
    assert bad.returncode != 0
    assert not (tmp_path / "b" / "README.md").exists()
    missing = git("clone", "--quiet", fake_forge.git_url("acme/missing"), str(tmp_path / "c"))
    assert missing.returncode != 0
