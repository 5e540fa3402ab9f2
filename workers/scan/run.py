"""One repository scan: config → files → core → PR (or check report). Synchronous, no Celery."""

from __future__ import annotations

import functools
import logging
import posixpath
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace

from workers import __version__
from workers.config.loading import ConfigError, ConfigIssue, parse_config
from workers.config.model import CONFIG_FILENAME, DEFAULT_BRANCH, Config, Mode
from workers.core.charts import ChartResult
from workers.core.explain import finding_message
from workers.core.findings import Exempted, FileReport, Finding
from workers.core.kustomizations import KUSTOMIZATION_FILES, BadKustomization, closure
from workers.core.renders import Render, Renderers, Verification
from workers.core.tree import (
    Chart,
    ReadError,
    ScanPlan,
    plan_scan,
    scan,
    with_kustomizations,
)
from workers.forge.base import (
    Annotation,
    ChangeRequestState,
    CheckConclusion,
    CheckReport,
    FileChange,
    Forge,
    RepoRef,
    TreeEntry,
)
from workers.jobs import ScanJob
from workers.render import helm, kustomize
from workers.runtime.logs import WORKER_LOGGER_NAME
from workers.scan import pr
from workers.scan.commit_files import CommitFiles
from workers.scan.pr import (
    ALL_STATES,
    Action,
    Proposal,
    PrResult,
    declined_fingerprints,
    ensure_fix_pr,
)
from workers.scan.report_cache import ReportCache, content_digest, files_digest, scan_digest

log = logging.getLogger(WORKER_LOGGER_NAME)

CHECK_NAME = "pullpolicy"
CONFIG_INVALID_TITLE = f"{CONFIG_FILENAME} is invalid"
BRANCH_KEY = "pull_request.branch"


@dataclass(frozen=True)
class ScanOutcome:
    repo: str
    head_sha: str
    findings: int
    action: str  # a pr.Action value, or "disabled" / "invalid-config" / "checked"
    pr_number: int | None = None
    api_calls: int = 0
    detail: str = ""  # why the bot left its branch alone, when it did


def run(
    forge: Forge,
    job: ScanJob,
    *,
    hands_off_noted: Callable[[int], bool] = lambda number: False,
    dry_run: bool = False,
    cache: ReportCache | None = None,
    review_declined: Callable[[], frozenset[str]] = frozenset,
) -> ScanOutcome:
    """Scan the repository's default branch head and bring its fix PR up to date.

    The newest head is always scanned (not the job's), so a burst of pushes collapses into
    one correct result. `hands_off_noted(pr_number)` says we already commented about a human
    commit on that PR. `dry_run` reads everything and writes nothing. With a `cache`,
    manifests whose blob was scanned before (same path, config and declined set) are not
    fetched again. `review_declined()` names the fixes people declined in reviews of pull
    requests that merged (see review_declines): declined like a closed fix PR's.
    """
    repo = RepoRef(job.forge, job.repo, job.installation_id)
    start_calls = forge.api_calls
    branch, head = forge.default_branch(repo, requests_from=DEFAULT_BRANCH, head_hint=job.head_sha)
    entries = {entry.path: entry for entry in forge.list_files(repo, head)}
    config_or_error = _read_config(forge, repo, head, entries)
    if isinstance(config_or_error, ConfigError):
        if not dry_run:
            forge.report(repo, config_report(head, config_or_error))
        return _outcome(job, head, forge, start_calls, 0, "invalid-config")
    config = config_or_error
    if not config.enabled:
        return _outcome(job, head, forge, start_calls, 0, "disabled")

    requests = forge.find_change_requests(repo, config.pull_request.branch, ALL_STATES)
    declined = declined_fingerprints(requests) | review_declined()
    plan = plan_scan((p for p, e in entries.items() if not e.is_symlink), config)
    fix = config.mode == Mode.FIX
    files = CommitFiles(forge, repo, head, entries)
    charts: list[Verification] = []
    with open_renderers(plan, job) as renderers:
        reports = _scan_cached(plan, files, config, fix, declined, cache, renderers, charts.append)
    skipped = tuple((r.path, r.skipped) for r in reports if r.skipped is not None)
    skipped += tuple((p, "symbolic link: not followed") for p, e in entries.items() if e.is_symlink)
    findings = [finding for report in reports for finding in report.findings]
    if not fix:
        if not dry_run:
            forge.report(repo, _findings_report(head, reports))
        return _outcome(job, head, forge, start_calls, len(findings), "checked")

    proposal = replace(_proposal(head, branch, reports, skipped), charts=tuple(charts))
    if dry_run:
        changed = ", ".join(change.path for change in proposal.changes) or "nothing"
        return _outcome(
            job, head, forge, start_calls, len(findings), f"dry-run: would change {changed}"
        )
    result: PrResult = ensure_fix_pr(
        forge,
        repo,
        proposal,
        config,
        version=__version__,
        requests=requests,
        hands_off_noted=any(
            hands_off_noted(r.number) for r in requests if r.state == ChangeRequestState.OPEN
        ),
    )
    not_fixed = _report_too_big(forge, repo, job, proposal) if proposal.too_big else ()
    action = result.action.value
    if result.problem:
        action = _report_branch_problem(forge, repo, head, result, reports)
        log.warning(
            "branch left alone",
            extra={"repository": job.repo, "head_sha": head, "reason": result.problem},
        )
    log.info(
        "scan done",
        extra={
            "repository": job.repo,
            "head_sha": head,
            "findings": len(findings),
            "action": action,
        },
    )
    outcome = _outcome(job, head, forge, start_calls, len(findings), action, result.number)
    # /status shows the detail: why the branch was left alone, and files in no pull request.
    return replace(outcome, detail="; ".join(filter(None, (result.problem, *not_fixed))))


def _report_branch_problem(
    forge: Forge, repo: RepoRef, head: str, result: PrResult, reports: Sequence[FileReport]
) -> str:
    """Tell the repository why its fixes were not written; returns the scan outcome. A branch
    `.pullpolicy.yml` names but pullpolicy may not write is a config error, reported as one."""
    if result.action == Action.INVALID_BRANCH:
        issue = ConfigIssue(path=BRANCH_KEY, message=result.problem, line=None)
        forge.report(repo, config_report(head, ConfigError([issue])))
        return "invalid-config"
    report = _findings_report(head, reports)
    forge.report(
        repo,
        replace(
            report,
            conclusion=CheckConclusion.FAILURE
            if result.action == Action.BLOCKED
            else CheckConclusion.NEUTRAL,
            title=f"{report.title}; no fix written: {result.problem}",
            summary=f"pullpolicy left its branch alone: {result.problem}.",
        ),
    )
    return result.action.value


def _scan_cached(
    plan: ScanPlan,
    files: CommitFiles,
    config: Config,
    fix: bool,
    declined: frozenset[str],
    cache: ReportCache | None,
    renderers: Renderers | None = None,
    verified: Callable[[Verification], None] = lambda verification: None,
) -> list[FileReport]:
    """Manifests (through the cache when there is one), then charts, then kustomizations:
    rendered charts read every file under their root, kustomizations their closures; all are
    fetched together with the manifests. With a cache, a chart whose files are all unchanged
    since a scan rendered it is neither fetched nor rendered (its result is reused), and a
    kustomize render of files rendered before is not made again."""
    digest = scan_digest(config, declined, fix=fix)
    known = _KnownCharts(cache, digest, files.entries) if cache is not None else None
    chart_files: list[str] = []
    if renderers is not None and renderers.helm is not None:
        chart_files = _chart_files(plan, known)
    render = renderers.kustomize if renderers is not None else None
    closures = _closure_files(plan, files) if render is not None else []
    files.keep(closures)  # read again by the renders: fetched once
    sources = replace(renderers, kustomize=None) if renderers is not None else None
    wanted = [*chart_files, *closures]
    if cache is None:
        files.prefetch([*plan.manifests, *wanted])
        reports = list(
            scan(
                plan,
                files.read,
                config,
                fix=fix,
                declined=declined,
                renderers=sources,
                verified=verified,
            )
        )
    else:
        reports = _cached(
            plan, files, config, declined, digest, cache, sources, verified, wanted, known, fix
        )
    if render is None:
        return reports
    if cache is not None:
        render = _RenderMemo(cache, render, _kubectl_version())
    return with_kustomizations(
        plan, reports, files.read, render, config, fix=fix, declined=declined, verified=verified
    )


def _cached(
    plan: ScanPlan,
    files: CommitFiles,
    config: Config,
    declined: frozenset[str],
    digest: str,
    cache: ReportCache,
    renderers: Renderers | None,
    verified: Callable[[Verification], None],
    wanted: Sequence[str],
    known: _KnownCharts | None,
    fix: bool,
) -> list[FileReport]:
    """Manifests whose blob was scanned before come from the cache, charts rendered before
    from `known`; the rest are fetched together with `wanted` (the files the renders read)."""
    entries = files.entries
    hits = {path: cache.get((digest, path, entries[path].sha)) for path in plan.manifests}
    todo = ScanPlan(tuple(path for path, hit in hits.items() if hit is None), plan.charts)
    files.prefetch([*todo.manifests, *wanted])
    fresh = {
        r.path: r
        for r in scan(
            todo,
            files.read,
            config,
            fix=fix,
            declined=declined,
            renderers=renderers,
            verified=verified,
            known=known,
        )
    }
    for path in todo.manifests:
        cache.put((digest, path, entries[path].sha), fresh[path])
    manifests = [hits[path] or fresh[path] for path in plan.manifests]
    charts = [report for path, report in fresh.items() if path not in hits]
    return [report for report in manifests if report is not None] + charts


class _KnownCharts:
    """Chart results in the cache, keyed by the scan digest, the chart's directory and the
    blob shas of every file under it (sub-charts included) with Helm's engine version."""

    def __init__(self, cache: ReportCache, digest: str, entries: Mapping[str, TreeEntry]) -> None:
        self._cache, self._digest, self._entries = cache, digest, entries

    def key(self, chart: Chart) -> tuple[str, str, str]:
        shas = [(path, self._entries[path].sha) for path in chart.files]
        return (self._digest, chart.root, content_digest([*shas, ("", helm.version())]))

    def get(self, chart: Chart) -> ChartResult | None:
        return self._cache.get_chart(self.key(chart))

    def put(self, chart: Chart, result: ChartResult) -> None:
        self._cache.put_chart(self.key(chart), result)


def _chart_files(plan: ScanPlan, known: _KnownCharts | None) -> list[str]:
    """The files of every chart Helm will render: all but those `known` holds (a sub-chart
    of a known chart is rendered with it, so it is not read either)."""
    hits = {chart.root for chart in plan.charts if known is not None and known.get(chart)}
    parents = {chart.root: chart.parent for chart in plan.charts}
    wanted: set[str] = set()
    for chart in plan.charts:
        root: str | None = chart.root
        while root is not None and root not in hits:
            root = parents.get(root)
        if root is None:
            wanted.update(chart.files)
    return sorted(wanted)


class _RenderMemo:
    """A kustomize `Render` whose successful renders are kept in the cache, keyed by the
    engine's version, the directory and the exact files given: the same input is rendered
    once across scans. Failures are not kept (a time limit may pass next time)."""

    def __init__(self, cache: ReportCache, render: Render, engine: str) -> None:
        self._cache, self._render, self._engine = cache, render, engine

    def __call__(self, files: Mapping[str, bytes], root: str) -> dict[str, str]:
        key = (self._engine, root, files_digest(files))
        rendered = self._cache.get_render(key)
        if rendered is None:
            rendered = self._render(files, root)
            self._cache.put_render(key, rendered)
        return dict(rendered)


@functools.cache
def _kubectl_version() -> str:
    """kubectl's version, asked once per process (its path when it does not say)."""
    return kustomize.version() or f"kubectl at {kustomize.kubectl()}"


def _closure_files(plan: ScanPlan, files: CommitFiles) -> list[str]:
    """Every file some kustomization reads: its kustomization files are fetched together
    first, then followed through their bases (a file over the size cap is never fetched)."""
    paths = frozenset(plan.paths)
    kustomization_files = [path for path in plan.paths if _is_kustomization(path)]
    files.keep(kustomization_files)
    files.prefetch(kustomization_files)
    wanted: set[str] = set()
    for root in plan.kustomizations:
        try:
            wanted.update(closure(root, paths, files.read).all_files)
        except (BadKustomization, ReadError):
            continue  # the kustomize step says why it is not rendered
    return sorted(wanted - set(kustomization_files))


def _is_kustomization(path: str) -> bool:
    return posixpath.basename(path) in KUSTOMIZATION_FILES


@contextmanager
def open_renderers(plan: ScanPlan, job: ScanJob) -> Iterator[Renderers | None]:
    """Helm's engine, in its own child process for this scan, when there are charts: the Go
    runtime never lives in a (forked) Celery worker; kubectl kustomize (a process per render)
    when there are kustomizations. Without the `render` extra charts are checked as text,
    without kubectl kustomizations are not rendered, and the log says so."""
    charts, kustomizations = bool(plan.charts), bool(plan.kustomizations)
    if charts and not helm.available():
        log.warning("charts not rendered: pullpolicy[render] is not installed",
                    extra={"repository": job.repo})  # fmt: skip
        charts = False
    if kustomizations and not kustomize.available():
        log.warning("kustomizations not rendered: kubectl not found",
                    extra={"repository": job.repo})  # fmt: skip
        kustomizations = False
    if not charts and not kustomizations:
        yield None
        return
    with ExitStack() as stack:
        engine = stack.enter_context(helm.HelmEngine()) if charts else None
        yield Renderers(helm=engine, kustomize=kustomize.render if kustomizations else None)


def _read_config(
    forge: Forge, repo: RepoRef, sha: str, entries: dict[str, TreeEntry]
) -> Config | ConfigError:
    entry = entries.get(CONFIG_FILENAME)
    if entry is None or entry.is_symlink:
        return Config()
    try:
        return parse_config(forge.read_file(repo, CONFIG_FILENAME, sha), source=CONFIG_FILENAME)
    except ConfigError as error:
        return error


def _proposal(
    head: str, branch: str, reports: Sequence[FileReport], skipped: tuple[tuple[str, str], ...]
) -> Proposal:
    """Whole files, in path order, up to MAX_FIXES_PER_PR fixes: the same files at every scan,
    so an open PR stays stable; the rest are counted and come after it is merged."""
    fixed: list[Finding] = []
    changes: list[FileChange] = []
    exempted: list[Exempted] = []
    held_back = 0
    too_big: list[str] = []
    for report in sorted(reports, key=lambda report: report.path):
        exempted.extend(report.exempted)
        if report.fixed is None:
            continue
        unfixable = {finding.fingerprint for finding, _ in report.unfixable}
        fixes = [f for f in report.findings if f.fingerprint not in unfixable]
        if len(fixes) > pr.MAX_FIXES_PER_PR:
            reason = f"{len(fixes)} containers to fix: more than one pull request can carry"
            skipped += ((report.path, reason),)
            too_big.append(report.path)
        elif held_back or len(fixed) + len(fixes) > pr.MAX_FIXES_PER_PR:
            held_back += len(fixes)
        else:
            fixed.extend(fixes)
            changes.append(FileChange(report.path, report.fixed))
    return Proposal(
        base_sha=head,
        target_branch=branch,
        findings=tuple(fixed),
        changes=tuple(changes),
        exempted=tuple(exempted),
        skipped=skipped,
        held_back=held_back,
        too_big=tuple(too_big),
    )


def _report_too_big(
    forge: Forge, repo: RepoRef, job: ScanJob, proposal: Proposal
) -> tuple[str, ...]:
    """Files over the per-PR cap are in no pull request, and when nothing else is, their
    reason would appear nowhere: say it in the log, on the commit (check run / status) and,
    through the returned lines, on /status."""
    reasons = dict(proposal.skipped)
    lines = [f"{path}: not fixed: {reasons[path]}" for path in proposal.too_big]
    for line in lines:
        log.warning("file not fixed", extra={"repository": job.repo, "reason": line})
    forge.report(
        repo,
        CheckReport(
            name=CHECK_NAME,
            sha=proposal.base_sha,
            conclusion=CheckConclusion.NEUTRAL,
            title=f"{len(lines)} file(s) not fixed: more fixes than one pull request can carry",
            summary="\n".join(lines),
            annotations=[
                Annotation(path=path, line=1, message=f"not fixed: {reasons[path]}")
                for path in proposal.too_big
            ],
        ),
    )
    return tuple(lines)


def config_report(head: str, error: ConfigError) -> CheckReport:
    annotations = [
        Annotation(
            path=CONFIG_FILENAME,
            line=issue.line or 1,
            message=f"{issue.path}: {issue.message}" if issue.path else issue.message,
            level="failure",
        )
        for issue in error.issues
    ]
    first = error.issues[0] if error.issues else None
    where = f" (line {first.line})" if first and first.line else ""
    detail = f": {first.path}: {first.message}{where}" if first else ""
    return CheckReport(
        name=CHECK_NAME,
        sha=head,
        conclusion=CheckConclusion.FAILURE,
        # GitLab statuses show only this line: the first error goes in it.
        title=f"{CONFIG_INVALID_TITLE}{detail}",
        summary=str(error),
        annotations=annotations,
    )


def _findings_report(head: str, reports: Sequence[FileReport]) -> CheckReport:
    findings = [finding for report in reports for finding in report.findings]
    annotations = [
        Annotation(path=f.path, line=f.line, message=finding_message(f), level="warning")
        for f in findings
    ]
    count = len(findings)
    return CheckReport(
        name=CHECK_NAME,
        sha=head,
        conclusion=CheckConclusion.NEUTRAL if count else CheckConclusion.SUCCESS,
        title=f"{count} container(s) without imagePullPolicy: Always" if count else "All clear",
        summary="Mode `check`: pullpolicy reports and opens no pull request.",
        annotations=annotations,
    )


def _outcome(
    job: ScanJob,
    head: str,
    forge: Forge,
    start_calls: int,
    findings: int,
    action: str,
    number: int | None = None,
) -> ScanOutcome:
    return ScanOutcome(job.repo, head, findings, action, number, forge.api_calls - start_calls)


__all__ = ["Action", "ScanOutcome", "run"]
