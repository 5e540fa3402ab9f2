"""The corpus before and after containers in custom resources were read: every container
found before is still reported at the same place, and the new kinds are found.

`golden/corpus/locations-before-crds.txt` lists `path:line:column` of every finding and
exemption the scan reported before custom resources were read (a check-only scan takes seconds).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.corpus import require_corpus
from workers.config.model import Config
from workers.core.findings import FileReport
from workers.core.tree import plan_scan, scan
from workers.scan.localfs import LocalTree

BEFORE = Path(__file__).parent / "golden" / "corpus" / "locations-before-crds.txt"
# Containers of custom resources in the corpus, none reported before (kubeflow/manifests:
# Trainer runtimes, KServe runtimes, LLM configs and storage containers, a RayCluster example).
NEW_KINDS = {
    "ClusterTrainingRuntime": 18,
    "ClusterServingRuntime": 12,
    "ClusterStorageContainer": 2,
    "LLMInferenceServiceConfig": 12,
    "RayCluster": 2,
}


@pytest.fixture(scope="module")
def reports() -> list[FileReport]:
    corpus = require_corpus()
    tree = LocalTree(corpus)
    plan = plan_scan(tree.paths(), Config())
    return list(scan(plan, tree.read, Config()))


def _located(reports: list[FileReport]) -> dict[str, str]:
    """`path:line:column` of every reported container -> its kind."""
    found: dict[str, str] = {}
    for report in reports:
        for finding in [*report.findings, *(e.finding for e in report.exempted)]:
            found[f"{finding.path}:{finding.line}:{finding.column}"] = finding.kind
    return found


@pytest.mark.corpus
def test_nothing_found_before_is_lost(reports: list[FileReport]) -> None:
    before = BEFORE.read_text(encoding="utf-8").split()
    assert len(before) > 400
    now = _located(reports)
    assert [location for location in before if location not in now] == []


@pytest.mark.corpus
def test_custom_resource_containers_are_found(reports: list[FileReport]) -> None:
    before = set(BEFORE.read_text(encoding="utf-8").split())
    new = Counter(kind for where, kind in _located(reports).items() if where not in before)
    assert new == NEW_KINDS
