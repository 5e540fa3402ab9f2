"""The hooks in .pre-commit-hooks.yaml, run by pre-commit itself on a temporary repository
whose `.pre-commit-config.yaml` is the README's snippet, pointed at a local copy of this package.

pre-commit installs the package into an environment of its own (from PyPI, within the ranges of
pyproject.toml) once per test session. (`pre-commit try-repo` would reinstall it for every
call, half a minute each.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docs_markdown import Document

REPO = Path(__file__).resolve().parents[1]
HOOKS_FILE = ".pre-commit-hooks.yaml"
PACKAGE_FILES = ("bot/", "workers/", "pyproject.toml", "README.md", HOOKS_FILE)
GIT_IDENTITY = ["-c", "user.name=pullpolicy tests", "-c", "user.email=tests@example.invalid"]

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2  # a mutable tag
"""

pytestmark = pytest.mark.e2e


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-commit copy of this checkout's package (uncommitted edits included): try-repo
    installs a commit, and one stable commit lets every test reuse one hook environment."""
    target = tmp_path_factory.mktemp("hooks-repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in listed:
        source = REPO / name
        if name.startswith(PACKAGE_FILES) and source.is_file() and "__pycache__" not in name:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "hooks under test")
    return target


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def readme_snippet() -> dict[str, Any]:
    """The `.pre-commit-config.yaml` the README tells users to write."""
    blocks = [
        block.text
        for block in Document.read(REPO / "README.md").blocks
        if block.info == "yaml" and "hooks:" in block.text and "repos:" in block.text
    ]
    assert len(blocks) == 1, "the README shows one pre-commit snippet"
    snippet: dict[str, Any] = yaml.safe_load(blocks[0])
    return snippet


@pytest.fixture
def project(tmp_path: Path, hooks_repo: Path) -> Iterator[Path]:
    """A user's repository: the README's snippet (on the local copy, every hook of the hooks
    file listed) and one manifest lacking imagePullPolicy, staged."""
    config = readme_snippet()
    (repository,) = config["repos"]
    snippet_ids = {hook["id"] for hook in repository["hooks"]}
    assert snippet_ids <= hook_ids(), "the README names a hook .pre-commit-hooks.yaml lacks"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hooks_repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    repository.update(repo=str(hooks_repo), rev=head, hooks=[{"id": i} for i in hook_ids()])
    (tmp_path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (tmp_path / "deploy.yaml").write_text(MANIFEST, encoding="utf-8")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    yield tmp_path


def hook_ids() -> set[str]:
    hooks = yaml.safe_load((REPO / HOOKS_FILE).read_text(encoding="utf-8"))
    return {str(hook["id"]) for hook in hooks}


def run_hook(home: Path, project: Path, hook: str, *files: str) -> int:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    assert pre_commit.exists(), "pre-commit is a dev dependency: make install"
    environment = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    result = subprocess.run(
        [str(pre_commit), "run", hook, "--files", *files],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    print(result.stdout, result.stderr)  # shown when a test fails
    return result.returncode


def test_the_hooks_file_names_the_hooks_tested_here() -> None:
    assert hook_ids() == {
        "pullpolicy-fix",
        "pullpolicy-check",
        "pullpolicy-validate-config",
    }


def test_check_reports_then_fix_repairs(pre_commit_home: Path, project: Path) -> None:
    manifest = project / "deploy.yaml"
    assert run_hook(pre_commit_home, project, "pullpolicy-check", manifest.name) != 0
    assert manifest.read_text(encoding="utf-8") == MANIFEST  # check only reads
    # fix changes the file, and so fails the commit: the user looks, stages, commits again.
    assert run_hook(pre_commit_home, project, "pullpolicy-fix", manifest.name) != 0
    assert "imagePullPolicy: Always" in manifest.read_text(encoding="utf-8")
    assert run_hook(pre_commit_home, project, "pullpolicy-check", manifest.name) == 0
    assert run_hook(pre_commit_home, project, "pullpolicy-fix", manifest.name) == 0


def test_validate_config_refuses_an_invalid_config(pre_commit_home: Path, project: Path) -> None:
    config = project / ".pullpolicy.yml"
    config.write_text("mode: sometimes\n", encoding="utf-8")
    git(project, "add", "-A")
    assert run_hook(pre_commit_home, project, "pullpolicy-validate-config", config.name) != 0
    config.write_text("mode: check\n", encoding="utf-8")
    git(project, "add", "-A")
    assert run_hook(pre_commit_home, project, "pullpolicy-validate-config", config.name) == 0
