"""The bot renders kustomizations: overlay patches fixed in the PR beside the base resources,
the PR body lists them verified, and only each kustomization's closure is read from the forge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from tests.forge_subjects import REPO, Subject
from workers.config.model import DEFAULT_BRANCH, Config
from workers.core.renders import rendered_findings
from workers.jobs import ScanJob
from workers.render import kustomize
from workers.scan import run as scan
from workers.scan.report_cache import ReportCache

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2
"""
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          imagePullPolicy: IfNotPresent
"""
OVERLAY = "resources:\n  - ../../base\npatches:\n  - path: policy.yaml\n"
TREE = {
    "base/deployment.yaml": BASE,
    "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "overlays/prod/kustomization.yaml": OVERLAY,
    "overlays/prod/policy.yaml": PATCH,
    "overlays/prod/notes.txt": "read by nothing\n",
    "other/readme.md": "# not a manifest\n",
}


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    if not kustomize.available():
        pytest.skip("kubectl is not installed (kubectl kustomize renders kustomizations)")


def run(subject: Subject, **options: Any) -> scan.ScanOutcome:
    job = ScanJob(
        forge=subject.kind, repo=REPO, reason="push", installation_id=subject.ref().installation_id
    )
    return scan.run(subject.forge, job, **options)


def recorded_reads(subject: Subject, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the scan asks the forge for, one entry per request for it."""
    reads: list[str] = []
    batch: list[bool] = []  # inside read_files, which may read file by file
    forge: Any = subject.forge
    one: Callable[..., bytes] = forge.read_file
    many: Callable[..., dict[str, bytes]] = forge.read_files

    def read_file(repo: object, path: str, sha: str) -> bytes:
        if not batch:
            reads.append(path)
        return one(repo, path, sha)

    def read_files(repo: object, paths: Sequence[str], sha: str) -> dict[str, bytes]:
        reads.extend(paths)
        batch.append(True)
        try:
            return many(repo, paths, sha)
        finally:
            batch.pop()

    monkeypatch.setattr(forge, "read_file", read_file)
    monkeypatch.setattr(forge, "read_files", read_files)
    return reads


def branch_files(subject: Subject) -> dict[str, bytes]:
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    assert head is not None
    files = {}
    for path in TREE:
        data = subject.fake.read(REPO, head, path)
        assert data is not None
        files[path] = data
    return files


@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "cache"])
def test_the_overlay_patch_and_the_base_are_fixed_in_one_pr_and_listed_verified(
    subject: Subject, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    subject.seed(TREE)
    reads = recorded_reads(subject, monkeypatch)
    outcome = run(subject, cache=ReportCache() if cached else None)
    assert outcome.action == "opened"
    (request,) = subject.fake.change_requests(REPO)
    assert "### Rendered kustomizations" in request.body
    assert "- kustomization `overlays/prod` — verified: rendered before (1 not `Always`)" in (
        request.body
    )
    files = branch_files(subject)
    assert files["overlays/prod/policy.yaml"] == PATCH.replace("IfNotPresent", "Always").encode()
    assert b"imagePullPolicy: Always" in files["base/deployment.yaml"]
    rendered = kustomize.render(files, "overlays/prod")
    assert rendered_findings(rendered, Config()) == []
    # Only manifests and closures are fetched, each once; nothing else in the tree.
    assert "overlays/prod/notes.txt" not in reads and "other/readme.md" not in reads
    assert sorted(reads) == sorted(set(reads))


def test_check_mode_reports_the_patch_and_writes_nothing(subject: Subject) -> None:
    subject.seed({**TREE, ".pullpolicy.yml": "mode: check\n"})
    outcome = run(subject)
    assert outcome.action == "checked"
    # the base's missing line and the overlay's IfNotPresent: two findings, one per file
    assert outcome.findings == 2
    assert subject.fake.change_requests(REPO) == []
