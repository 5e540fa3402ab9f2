"""The bot renders only what a push changed: chart results and kustomize renders are kept in
the worker's cache, keyed by content, and the fix PR still carries every chart's fix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from tests.forge_subjects import REPO, Subject
from tests.workers.scan.test_scan_kustomize import BASE, PATCH  # the same base and overlay patch
from workers.config.model import DEFAULT_BRANCH
from workers.jobs import ScanJob
from workers.render import helm, kustomize
from workers.scan import run as scan
from workers.scan.report_cache import ReportCache

CHART = "apiVersion: v2\nname: {name}\nversion: 0.1.0\n"
VALUES = """\
image:
  repository: registry.example.com/{name}
  tag: '1.0'
  pullPolicy: IfNotPresent
"""
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  template:
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
"""


def chart(name: str) -> dict[str, str]:
    return {
        f"charts/{name}/Chart.yaml": CHART.format(name=name),
        f"charts/{name}/values.yaml": VALUES.format(name=name),
        f"charts/{name}/templates/deployment.yaml": TEMPLATE,
    }


TREE = {
    **chart("x"),
    **chart("y"),
    "base/deployment.yaml": BASE,
    "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "overlays/prod/kustomization.yaml": "resources:\n  - ../../base\npatches:\n  - path: p.yaml\n",
    "overlays/prod/p.yaml": PATCH,
}


@pytest.fixture(autouse=True)
def _engines() -> None:
    if not helm.available():
        pytest.skip("helm-python-sdk is not installed (the `render` extra)")
    if not kustomize.available():
        pytest.skip("kubectl is not installed (kubectl kustomize renders kustomizations)")


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """(engine, directory) of every render the scan asks an engine for."""
    counted: Counter[tuple[str, str]] = Counter()
    helm_render = helm.HelmEngine.__call__
    kustomize_render = kustomize.render

    def render_chart(self: helm.HelmEngine, files: Mapping[str, bytes], root: str) -> Any:
        counted["helm", root] += 1
        return helm_render(self, files, root)

    def render_kustomization(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        counted["kustomize", root] += 1
        return kustomize_render(files, root)

    monkeypatch.setattr(helm.HelmEngine, "__call__", render_chart)
    monkeypatch.setattr(kustomize, "render", render_kustomization)
    return counted


def recorded_reads(subject: Subject, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the scan asks the forge for."""
    reads: list[str] = []
    forge: Any = subject.forge
    one: Callable[..., bytes] = forge.read_file
    many: Callable[..., dict[str, bytes]] = forge.read_files

    def read_file(repo: object, path: str, sha: str) -> bytes:
        reads.append(path)
        return one(repo, path, sha)

    def read_files(repo: object, paths: Sequence[str], sha: str) -> dict[str, bytes]:
        reads.extend(paths)
        return many(repo, paths, sha)

    monkeypatch.setattr(forge, "read_file", read_file)
    monkeypatch.setattr(forge, "read_files", read_files)
    return reads


def run(subject: Subject, cache: ReportCache) -> scan.ScanOutcome:
    job = ScanJob(
        forge=subject.kind, repo=REPO, reason="push", installation_id=subject.ref().installation_id
    )
    return scan.run(subject.forge, job, cache=cache)


def branch_file(subject: Subject, path: str) -> str:
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    assert head is not None
    data = subject.fake.read(REPO, head, path)
    assert data is not None
    return data.decode()


def test_a_push_touching_one_chart_renders_only_that_chart(
    subject: Subject, renders: Counter[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    subject.seed(TREE)
    cache = ReportCache()
    assert run(subject, cache).action == "opened"
    assert {root for _, root in renders} == {"charts/x", "charts/y", "overlays/prod", "base"}
    renders.clear()

    # y's bump also turns its policy away from Always: the PR must change (and be rewritten).
    bumped = VALUES.format(name="y").replace("'1.0'", "'1.1'").replace("IfNotPresent", "Never")
    subject.fake.push_commit(REPO, "main", {"charts/y/values.yaml": bumped}, "bump y")
    reads = recorded_reads(subject, monkeypatch)
    second = run(subject, cache)
    assert second.action == "updated"
    assert set(renders) == {("helm", "charts/y")}  # no chart x, no kustomization
    assert "charts/y/templates/deployment.yaml" in reads
    assert not [path for path in reads if path.startswith("charts/x/")]  # x is not even read
    # The PR still fixes both charts (x's from the cached result) and the overlay patch.
    assert "pullPolicy: Always" in branch_file(subject, "charts/x/values.yaml")
    fixed_y = branch_file(subject, "charts/y/values.yaml")
    assert "pullPolicy: Always" in fixed_y and "'1.1'" in fixed_y
    assert "imagePullPolicy: Always" in branch_file(subject, "overlays/prod/p.yaml")
    (request,) = subject.fake.change_requests(REPO)
    assert "`charts/x`" in request.body and "`charts/y`" in request.body


def test_a_push_touching_one_overlay_renders_only_the_kustomizations_reading_it(
    subject: Subject, renders: Counter[tuple[str, str]]
) -> None:
    subject.seed(TREE)
    cache = ReportCache()
    run(subject, cache)
    renders.clear()

    patch = PATCH.replace("IfNotPresent", "Never")
    subject.fake.push_commit(REPO, "main", {"overlays/prod/p.yaml": patch}, "never")
    assert run(subject, cache).action == "updated"
    assert renders and {root for _, root in renders} == {"overlays/prod"}
    assert "imagePullPolicy: Always" in branch_file(subject, "overlays/prod/p.yaml")


def test_without_a_cache_every_scan_renders_everything(
    subject: Subject, renders: Counter[tuple[str, str]]
) -> None:
    subject.seed(TREE)
    job = ScanJob(
        forge=subject.kind, repo=REPO, reason="push", installation_id=subject.ref().installation_id
    )
    scan.run(subject.forge, job)
    first = Counter(renders)
    renders.clear()
    subject.fake.push_commit(REPO, "main", {"README.md": "hello\n"}, "docs")
    scan.run(subject.forge, job)
    assert renders == first


def test_a_known_chart_s_sub_charts_are_neither_read_nor_rendered(
    subject: Subject, renders: Counter[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = {
        path.replace("charts/x/", "charts/p/charts/sub/"): text for path, text in chart("x").items()
    }
    subject.seed({**chart("p"), **sub})
    cache = ReportCache()
    assert run(subject, cache).action == "opened"
    assert {root for _, root in renders} == {"charts/p"}  # the sub-chart renders with it
    renders.clear()
    subject.fake.push_commit(REPO, "main", {"README.md": "hello\n"}, "docs")
    reads = recorded_reads(subject, monkeypatch)
    assert run(subject, cache).action == "unchanged"
    assert not renders
    assert not [path for path in reads if path.startswith("charts/")]
