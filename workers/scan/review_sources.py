"""What a review scans: the manifests a pull request changes and, when it changes a Helm chart
or a kustomization, those charts and kustomizations (rendered as the scan renders them).

Bounded by the pull request: the repository's tree is listed (one call) only when a changed
path is a chart's or a kustomization's file by its name (`Chart.yaml`, `values.yaml`, a file
under `templates/`, a kustomization file); then only the charts holding a changed file and the
kustomizations whose directory holds one are rendered. A pull request changing only a resource
of a kustomization elsewhere is reviewed as that manifest alone.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence

from workers.config.model import Config
from workers.core.kustomizations import KUSTOMIZATION_FILES
from workers.core.tree import (
    CHART_FILE,
    TEMPLATE_DIR,
    VALUES_FILE,
    ReadError,
    ScanPlan,
    plan_scan,
)
from workers.forge.base import NotFound, RepoRef, ReviewForge, TreeEntry
from workers.scan.commit_files import CommitFiles

SOURCE_NAMES = frozenset({CHART_FILE, VALUES_FILE, *KUSTOMIZATION_FILES})


def renders_sources(changed: Sequence[str]) -> bool:
    """Whether the pull request changes a file of a chart or a kustomization (by its name)."""
    return any(
        posixpath.basename(path) in SOURCE_NAMES or TEMPLATE_DIR in path.split("/")[:-1]
        for path in changed
    )


def review_plan(changed: Sequence[str], listed: Sequence[str] | None, config: Config) -> ScanPlan:
    """The changed manifests, plus (with the tree `listed`) the charts holding a changed file
    and the kustomizations whose directory holds one. Without the tree, charts and
    kustomizations are not planned: their other files are unknown."""
    if listed is None:
        return ScanPlan(plan_scan(changed, config).manifests)
    full = plan_scan(listed, config)
    touched = frozenset(changed)
    charts = tuple(chart for chart in full.charts if touched.intersection(chart.files))
    kustomizations = tuple(
        root for root in full.kustomizations if any(_under(path, root) for path in touched)
    )
    return ScanPlan(
        tuple(path for path in full.manifests if path in touched),
        charts,
        kustomizations,
        full.paths if kustomizations else (),
    )


def _under(path: str, root: str) -> bool:
    return not root or path.startswith(f"{root}/")


class HeadFiles(CommitFiles):
    """Reads at the pull request's head, every one kept (the review needs each changed file's
    text beside its fix); a file missing there is unreadable, not an error of the review."""

    def __init__(
        self, forge: ReviewForge, repo: RepoRef, sha: str, entries: Mapping[str, TreeEntry]
    ) -> None:
        super().__init__(forge, repo, sha, entries, keep_all=True)

    def read(self, path: str) -> bytes:
        try:
            return super().read(path)
        except NotFound:
            raise ReadError("not found at the pull request's head") from None
