"""A whole tree: which files to read, in which role, and the reports for each.

Still pure: the caller lists the paths and hands in a `read` function, so the same code serves
a local checkout (CLI) and a forge's API (workers).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

from workers.config.model import Config, Paths
from workers.core.charts import ChartResult, check_chart
from workers.core.findings import FileReport
from workers.core.globs import glob_match
from workers.core.helm import ValueRef, check_values, value_refs
from workers.core.kustomizations import kustomization_dirs
from workers.core.manifest import check_manifest
from workers.core.overlays import check_kustomizations
from workers.core.reads import MAX_FILE_BYTES as MAX_FILE_BYTES  # re-exported: callers cap reads
from workers.core.reads import ReadError as ReadError
from workers.core.renders import Render, Renderers, Verification
from workers.core.yamldoc import Unparseable, decode

CHART_FILE = "Chart.yaml"
VALUES_FILE = "values.yaml"
TEMPLATE_DIR = "templates"


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
    kustomizations: tuple[str, ...] = ()  # directories holding a kustomization file
    paths: tuple[str, ...] = ()  # every listed path when there are any: closures look them up

    @property
    def size(self) -> int:
        return len(self.manifests) + len(self.charts)


class ChartResults(Protocol):
    """Results of charts rendered before (the bot keeps them between scans, keyed by the
    chart's files): a chart found here is not rendered again."""

    def get(self, chart: Chart) -> ChartResult | None: ...

    def put(self, chart: Chart, result: ChartResult) -> None: ...


def plan_scan(paths: Iterable[str], config: Config) -> ScanPlan:
    """Sort repository paths (POSIX, relative) into manifests, Helm charts and kustomizations
    (a kustomization's files are manifests too: the plain scan reads them first)."""
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
    kustomizations = tuple(kustomization_dirs(all_paths))
    listed = tuple(all_paths) if kustomizations else ()
    return ScanPlan(tuple(manifests), charts, kustomizations, listed)


def scan(
    plan: ScanPlan,
    read: Callable[[str], bytes],
    config: Config,
    *,
    fix: bool = False,
    declined: frozenset[str] = frozenset(),
    renderers: Renderers | None = None,
    verified: Callable[[Verification], None] = lambda verification: None,
    known: ChartResults | None = None,
) -> Iterator[FileReport]:
    """One report per manifest, then the charts' reports, in plan order, then the reports of
    files only kustomizations find.

    With a Helm engine in `renderers`, each chart (its sub-charts with it) is rendered and
    reported at the sources that decide its containers, and `verified` hears how it went;
    a chart Helm refuses, or any chart without an engine, has its values checked as text.
    With a kustomize engine, every kustomization is rendered after that (over the files as
    the manifest and chart fixes left them) and its reports are merged into the others
    (`with_kustomizations`): the reports are then held back until the end.
    A chart `known` holds is not rendered again: its result is reused (and a rendered chart's
    result is handed to `known`). Findings whose fingerprint is in `declined` are reported as
    exempted, never patched."""
    reports = _scan_sources(plan, read, config, fix, declined, renderers, verified, known)
    render = renderers.kustomize if renderers is not None else None
    if render is None or not plan.kustomizations:
        yield from reports
        return
    yield from with_kustomizations(
        plan, list(reports), read, render, config, fix=fix, declined=declined, verified=verified
    )


def with_kustomizations(
    plan: ScanPlan,
    reports: list[FileReport],
    read: Callable[[str], bytes],
    render: Render,
    config: Config,
    *,
    fix: bool = False,
    declined: frozenset[str] = frozenset(),
    verified: Callable[[Verification], None] = lambda verification: None,
) -> list[FileReport]:
    """`reports` (the whole tree's manifests and charts) merged with what rendering every
    kustomization of `plan` finds. Renders read each file once, as the earlier fixes left it;
    a file patched by both keeps the kustomize step's bytes (made over the earlier fix).
    Without `fix`, the fix is still worked out, to say what it would render, and not kept."""
    if not plan.kustomizations:
        return reports
    # Without `fix` nothing was patched: each manifest's fix is worked out when first read.
    fixed: dict[str, bytes | None] = {r.path: r.fixed for r in reports} if fix else {}
    manifests = frozenset(plan.manifests)
    originals: dict[str, bytes] = {}

    def original(path: str) -> bytes:
        if path not in originals:
            originals[path] = read(path)
        return originals[path]

    def current(path: str) -> bytes:
        if path not in fixed and not fix and path in manifests:
            fixed[path] = check_manifest(
                path, original(path), config, fix=True, declined=declined
            ).fixed
        data = fixed.get(path)
        return data if data is not None else original(path)

    found, verifications = check_kustomizations(
        plan.paths, current, original, render, config, fix=True, declined=declined
    )
    if not fix:
        found = [replace(report, fixed=None) for report in found]
    for verification in verifications:
        verified(verification)
    merged = list(reports)
    index = {report.path: position for position, report in enumerate(merged)}
    for report in found:
        if report.path in index:
            merged[index[report.path]] = merge_reports(merged[index[report.path]], report)
        else:
            index[report.path] = len(merged)
            merged.append(report)
    return merged


def merge_reports(first: FileReport, later: FileReport) -> FileReport:
    """One file's two reports: findings concatenated without repeating one (same fingerprint),
    the later whole-file bytes when both patched it."""
    seen = {finding.fingerprint for finding in first.findings}
    seen_exempted = {item.finding.fingerprint for item in first.exempted}
    seen_unfixable = {(finding.fingerprint, reason) for finding, reason in first.unfixable}
    return replace(
        first,
        findings=first.findings + tuple(f for f in later.findings if f.fingerprint not in seen),
        exempted=first.exempted
        + tuple(e for e in later.exempted if e.finding.fingerprint not in seen_exempted),
        unfixable=first.unfixable
        + tuple(u for u in later.unfixable if (u[0].fingerprint, u[1]) not in seen_unfixable),
        fixed=later.fixed if later.fixed is not None else first.fixed,
        skipped=first.skipped or later.skipped,
    )


def _scan_sources(
    plan: ScanPlan,
    read: Callable[[str], bytes],
    config: Config,
    fix: bool,
    declined: frozenset[str],
    renderers: Renderers | None,
    verified: Callable[[Verification], None],
    known: ChartResults | None = None,
) -> Iterator[FileReport]:
    """The manifests' reports, then the charts'."""
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
            result = known.get(chart) if known is not None else None
            if result is None:
                result = check_chart(
                    chart.root, chart.files, read, render, config,
                    fix=fix, declined=declined, unreadable=ReadError,
                )  # fmt: skip
                if known is not None and result.rendered:
                    known.put(chart, result)  # a refusal may pass (a timeout): tried again
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
