"""A whole tree: which files to read, in which role, and the reports for each.

Still pure: the caller lists the paths and hands in a `read` function, so the same code serves
a local checkout (CLI) and a forge's API (workers).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from workers.config.model import Config, Paths
from workers.core.charts import check_chart
from workers.core.findings import FileReport
from workers.core.globs import glob_match
from workers.core.helm import ValueRef, check_values, value_refs
from workers.core.manifest import check_manifest
from workers.core.renders import Renderers, Verification
from workers.core.yamldoc import Unparseable, decode

CHART_FILE = "Chart.yaml"
VALUES_FILE = "values.yaml"
TEMPLATE_DIR = "templates"


MAX_FILE_BYTES = 5 * 1024 * 1024  # larger manifests are skipped, locally and on forges alike


class ReadError(Exception):
    """Raised by a `read` function for a file it refuses to read (symlink, too large, ...)."""

    @classmethod
    def too_large(cls, limit: int) -> ReadError:
        return cls(f"larger than {limit // (1024 * 1024)} MiB")


@dataclass(frozen=True)
class Chart:
    root: str  # "" for a chart at the repository root
    templates: tuple[str, ...]
    values: str | None
    files: tuple[str, ...] = ()  # every file under the root, sub-charts included: Helm reads them
    parent: str | None = None  # the chart this one is unpacked in (under its charts/)

    @property
    def name(self) -> str:
        return posixpath.basename(self.root) or "."


@dataclass(frozen=True)
class ScanPlan:
    manifests: tuple[str, ...]
    charts: tuple[Chart, ...] = field(default=())

    @property
    def size(self) -> int:
        return len(self.manifests) + len(self.charts)


def plan_scan(paths: Iterable[str], config: Config) -> ScanPlan:
    """Sort repository paths (POSIX, relative) into manifests and Helm charts."""
    all_paths = sorted(set(paths))
    roots = {posixpath.dirname(p) for p in all_paths if posixpath.basename(p) == CHART_FILE}
    manifests: list[str] = []
    templates: dict[str, list[str]] = {root: [] for root in roots}
    values: dict[str, str] = {}
    for path in all_paths:
        chart = _chart_of(path, roots)
        if chart is not None and _under(path, _join(chart, TEMPLATE_DIR)):
            templates[chart].append(path)  # Go templates: never parsed as manifests
            continue
        if not included(path, config.paths):
            continue
        if chart is not None and path == _join(chart, VALUES_FILE):
            values[chart] = path
            continue
        manifests.append(path)
    charts = tuple(
        Chart(
            root,
            tuple(templates[root]),
            values.get(root),
            tuple(p for p in all_paths if not root or _under(p, root)),
            _chart_of(posixpath.dirname(root), roots) if root else None,
        )
        for root in sorted(roots)
        if config.rules.helm_values
    )
    return ScanPlan(tuple(manifests), charts)


def scan(
    plan: ScanPlan,
    read: Callable[[str], bytes],
    config: Config,
    *,
    fix: bool = False,
    declined: frozenset[str] = frozenset(),
    renderers: Renderers | None = None,
    verified: Callable[[Verification], None] = lambda verification: None,
) -> Iterator[FileReport]:
    """One report per manifest, then the charts' reports, in plan order.

    With a Helm engine in `renderers`, each chart (its sub-charts with it) is rendered and
    reported at the sources that decide its containers, and `verified` hears how it went;
    a chart Helm refuses, or any chart without an engine, has its values checked as text.
    Findings whose fingerprint is in `declined` are reported as exempted, never patched."""
    for path in plan.manifests:
        try:
            data = read(path)
        except ReadError as error:
            yield FileReport(path, skipped=str(error))
            continue
        yield check_manifest(path, data, config, fix=fix, declined=declined)
    render = renderers.helm if renderers is not None else None
    rendered: set[str] = set()
    for chart in plan.charts:
        if render is not None and (chart.parent is None or chart.parent not in rendered):
            result = check_chart(
                chart.root, chart.files, read, render, config,
                fix=fix, declined=declined, unreadable=ReadError,
            )  # fmt: skip
            verified(result.verification)
            if result.rendered:
                rendered.add(chart.root)
                yield from result.reports
                continue
        elif chart.parent is not None and chart.parent in rendered:
            rendered.add(chart.root)  # rendered with its parent
            continue
        report = _scan_chart(chart, read, fix=fix, declined=declined)
        if report is not None:
            yield report


def _scan_chart(
    chart: Chart, read: Callable[[str], bytes], *, fix: bool, declined: frozenset[str]
) -> FileReport | None:
    refs: list[ValueRef] = []
    for template in chart.templates:
        try:
            refs.extend(value_refs(decode(read(template))))
        except (ReadError, Unparseable):
            continue  # a template we cannot read feeds nothing we could fix
    if not refs or chart.values is None:
        return None
    try:
        data = read(chart.values)
    except ReadError as error:
        return FileReport(chart.values, skipped=str(error))
    return check_values(chart.name, chart.values, data, refs, fix=fix, declined=declined)


def included(path: str, paths: Paths) -> bool:
    return any(glob_match(p, path) for p in paths.include) and not any(
        glob_match(p, path) for p in paths.exclude
    )


def _chart_of(path: str, roots: set[str]) -> str | None:
    directory = posixpath.dirname(path)
    while True:
        if directory in roots:
            return directory
        if not directory:
            return None
        directory = posixpath.dirname(directory)


def _join(root: str, name: str) -> str:
    return posixpath.join(root, name) if root else name


def _under(path: str, directory: str) -> bool:
    return path.startswith(directory + "/")
