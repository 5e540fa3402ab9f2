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
    MAX_FILE_BYTES,
    TEMPLATE_DIR,
    VALUES_FILE,
    ReadError,
    ScanPlan,
    plan_scan,
)
from workers.forge.base import NotFound, RepoRef, ReviewForge

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


class HeadFiles:
    """Reads at the pull request's head: what `prefetch` names in one batch (one GraphQL query
    per hundred files on GitHub), anything else one by one; every read is kept (the review
    needs each changed file's text beside its fix). A file the tree lists above MAX_FILE_BYTES
    is never downloaded."""

    def __init__(
        self, forge: ReviewForge, repo: RepoRef, sha: str, sizes: Mapping[str, int | None]
    ) -> None:
        self._forge, self._repo, self._sha, self._sizes = forge, repo, sha, sizes
        self._fetched: dict[str, bytes] = {}

    def prefetch(self, paths: Sequence[str]) -> None:
        wanted = [p for p in dict.fromkeys(paths) if p not in self._fetched and not self._big(p)]
        if wanted:
            self._fetched.update(self._forge.read_files(self._repo, wanted, self._sha))

    def read(self, path: str) -> bytes:
        if self._big(path):
            raise ReadError.too_large(MAX_FILE_BYTES)
        if path not in self._fetched:
            try:
                self._fetched[path] = self._forge.read_file(self._repo, path, self._sha)
            except NotFound:
                raise ReadError("not found at the pull request's head") from None
        data = self._fetched[path]
        if len(data) > MAX_FILE_BYTES:
            raise ReadError.too_large(MAX_FILE_BYTES)
        return data

    def _big(self, path: str) -> bool:
        size = self._sizes.get(path)
        return size is not None and size > MAX_FILE_BYTES
