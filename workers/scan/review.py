"""Review one person's pull request: its changed manifests at its head, with the base branch's
config → one check report on the head, and suggestions on the lines it adds.

Idempotent: every suggestion carries a hidden marker (fingerprints@line), so a redelivered or
racing event posts nothing twice; threads whose findings are gone are answered as fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from workers.config.loading import ConfigError, parse_config
from workers.config.model import (
    CONFIG_FILENAME,
    Config,
    ReviewConclusion,
    ReviewEvent,
    ReviewMode,
)
from workers.core.explain import finding_message, plural
from workers.core.findings import FileReport, Finding
from workers.core.review import (
    FIXED_REPLY,
    DiffLines,
    Suggestion,
    asks_to_ignore,
    comment_body,
    in_diff,
    parse_comment_marker,
    parse_patch,
    reviewable,
    suggestions,
)
from workers.core.tree import ReadError, scan
from workers.core.yamldoc import Unparseable, decode
from workers.forge.base import (
    Annotation,
    ChangedFile,
    ChangeRequestState,
    CheckConclusion,
    CheckReport,
    NotFound,
    RepoRef,
    ReviewComment,
    ReviewForge,
    ReviewThread,
    TreeEntry,
)
from workers.jobs import ScanJob
from workers.runtime.logs import WORKER_LOGGER_NAME
from workers.scan.review_sources import HeadFiles, renders_sources, review_plan
from workers.scan.run import CHECK_NAME, ScanOutcome, config_report, open_renderers

log = logging.getLogger(WORKER_LOGGER_NAME)

REVIEWED = "reviewed"
REVIEW_SUMMARY = (
    "pullpolicy: {count} on lines this pull request adds without `imagePullPolicy: Always`. "
    "Each suggestion below applies the fix; commit it from here."
)
CHECK_TITLE = "{count} added without imagePullPolicy: Always"
CHECK_CLEAR = "No container this pull request adds lacks imagePullPolicy: Always"
CHECK_SUMMARY = (
    "pullpolicy reviewed the files this pull request changes, at its head, with the base "
    "branch's `.pullpolicy.yml`. Warnings are on lines it adds; notices were there before."
)
FIXED_PREFIX = FIXED_REPLY.split("{", 1)[0]
DISMISSED = "DISMISSED"
CHANGES_REQUESTED = "CHANGES_REQUESTED"
DISMISS_MESSAGE = "pullpolicy: nothing left to change at {sha}."


@dataclass(frozen=True)
class _Reviewed:
    """What the changed files hold: every report, and the diff of each file."""

    reports: list[FileReport]
    diffs: dict[str, DiffLines]
    texts: dict[str, tuple[str, str]]  # path -> (head text, patched text)


def review(
    forge: ReviewForge,
    job: ScanJob,
    *,
    dry_run: bool = False,
    record_declined: Callable[[frozenset[str]], None] = lambda fingerprints: None,
) -> ScanOutcome:
    """Review the pull request `job.pr_number` at its current head (a burst of pushes
    collapses into one review of the newest). Reads and writes only `job.repo`: a fork's
    commits are read there, and nothing is ever written to the fork. `record_declined` keeps
    the fingerprints people declined here, for the fix PR once this one merges."""
    if job.pr_number is None:
        raise ValueError("a review job names its pull request")
    repo = RepoRef(job.forge, job.repo, job.installation_id)
    number = job.pr_number
    start_calls = forge.api_calls
    pull = forge.change_request(repo, number)
    head = pull.head_sha or job.head_sha or ""

    def outcome(action: str, findings: int = 0) -> ScanOutcome:
        calls = forge.api_calls - start_calls
        return ScanOutcome(job.repo, head, findings, action, number, calls)

    if pull.state != ChangeRequestState.OPEN:
        return outcome("not-open")
    config = _base_config(forge, repo, pull.target_branch)
    if isinstance(config, ConfigError):
        if not dry_run:
            forge.report(repo, config_report(head, config))
        return outcome("invalid-config")
    if not config.enabled or config.review == ReviewMode.OFF:
        return outcome("disabled")
    if pull.draft and not config.review_drafts:
        return outcome("draft")

    suggest = config.review == ReviewMode.SUGGEST
    request_changes = config.review_event == ReviewEvent.REQUEST_CHANGES
    threads = forge.review_threads(repo, number) if suggest else []
    ours = [t for t in threads if parse_comment_marker(t.body) is not None]
    # Only a review that requests changes can be dismissed: read the states only then, and
    # only once the bot has reviewed (its threads name their review).
    states = forge.review_states(repo, number) if request_changes and ours else {}
    ignored = _ignored(ours, states)
    if ignored and not dry_run:
        record_declined(ignored)
    changed = forge.changed_files(repo, number)
    reviewed = _scan(forge, repo, head, job, changed, config, ignored)
    findings = [f for r in reviewed.reports for f in r.findings]
    added = [f for f in findings if in_diff(f, reviewed.diffs.get(f.path, _NO_DIFF))]
    if dry_run:
        return outcome(f"dry-run: {len(added)} added", len(added))
    forge.report(repo, _check_report(head, findings, added, config))
    if suggest:
        _suggest(forge, repo, number, head, reviewed, threads, request_changes=request_changes)
        fixed = _resolve_fixed(forge, repo, number, head, findings, ours, ignored)
        if states:
            _dismiss_settled(forge, repo, number, head, ours, states, fixed | ignored)
    log.info(
        "review done",
        extra={"repository": job.repo, "head_sha": head, "findings": len(added)},
    )
    return outcome(REVIEWED, len(added))


_NO_DIFF = DiffLines(frozenset())


def _base_config(forge: ReviewForge, repo: RepoRef, branch: str) -> Config | ConfigError:
    """The base branch's `.pullpolicy.yml`: a pull request cannot switch its review off."""
    try:
        text = forge.read_file(repo, CONFIG_FILENAME, branch)
    except NotFound:
        return Config()
    try:
        return parse_config(text, source=CONFIG_FILENAME)
    except ConfigError as error:
        return error


def _answered_fixed(thread: ReviewThread) -> bool:
    return any(reply.startswith(FIXED_PREFIX) for reply in thread.replies)


def _ignored(ours: Sequence[ReviewThread], states: Mapping[str, str]) -> frozenset[str]:
    """Fingerprints a person declined, never suggested again: a reply `pullpolicy: ignore`,
    or the bot's review dismissed while they were still open (the bot dismisses its own review
    only once each of its threads is answered fixed or ignored, so that is not a decline)."""
    found: set[str] = set()
    for thread in ours:
        marker = parse_comment_marker(thread.body)
        if marker is None:
            continue
        dismissed = states.get(thread.review_id) == DISMISSED and not _answered_fixed(thread)
        if dismissed or any(asks_to_ignore(reply) for reply in thread.replies):
            found.update(marker[0])
    return frozenset(found)


def _scan(
    forge: ReviewForge,
    repo: RepoRef,
    head: str,
    job: ScanJob,
    changed: Sequence[ChangedFile],
    config: Config,
    ignored: frozenset[str],
) -> _Reviewed:
    """The changed manifests, one read each, at the head; and the charts and kustomizations
    the pull request changes, rendered as the scan renders them (see review_sources)."""
    present = {f.path: f for f in changed if f.status != "removed"}
    listed: dict[str, TreeEntry] | None = None
    if renders_sources(list(present)):
        entries = forge.list_files(repo, head)
        listed = {entry.path: entry for entry in entries if not entry.is_symlink}
    plan = review_plan(list(present), None if listed is None else list(listed), config)
    files = HeadFiles(forge, repo, head, listed or {})
    files.prefetch([*plan.manifests, *(path for chart in plan.charts for path in chart.files)])
    with open_renderers(plan, job) as renderers:
        reports = list(
            scan(plan, files.read, config, fix=True, declined=ignored, renderers=renderers)
        )
    texts: dict[str, tuple[str, str]] = {}
    for report in reports:
        if report.fixed is None or report.path not in present:
            continue  # a fix outside the diff: its findings go to the check run only
        try:
            texts[report.path] = (decode(files.read(report.path)), decode(report.fixed))
        except (ReadError, Unparseable):
            continue
    diffs = {path: parse_patch(f.patch) for path, f in present.items()}
    return _Reviewed(reports, diffs, texts)


def _check_report(
    head: str, findings: Sequence[Finding], added: Sequence[Finding], config: Config
) -> CheckReport:
    new = {f.fingerprint for f in added}
    annotations = [
        Annotation(
            path=f.path,
            line=f.line,
            message=finding_message(f),
            level="warning" if f.fingerprint in new else "notice",
        )
        for f in findings
    ]
    if not added:
        conclusion, title = CheckConclusion.SUCCESS, CHECK_CLEAR
    else:
        failing = config.review_conclusion == ReviewConclusion.FAILURE
        conclusion = CheckConclusion.FAILURE if failing else CheckConclusion.NEUTRAL
        title = CHECK_TITLE.format(count=plural(len(added), "container"))
    return CheckReport(CHECK_NAME, head, conclusion, title, CHECK_SUMMARY, annotations)


def _suggest(
    forge: ReviewForge,
    repo: RepoRef,
    number: int,
    head: str,
    reviewed: _Reviewed,
    threads: Sequence[ReviewThread],
    *,
    request_changes: bool,
) -> None:
    """One review holding every suggestion not already on the pull request."""
    posted = {marker for t in threads if (marker := parse_comment_marker(t.body)) is not None}
    fresh: list[Suggestion] = []
    for report in reviewed.reports:
        if report.path not in reviewed.texts:
            continue
        original, patched = reviewed.texts[report.path]
        found = suggestions(report.path, original, patched, report.findings)
        kept = reviewable(found, reviewed.diffs[report.path])
        fresh.extend(s for s in kept if s.key not in posted)
    if not fresh:
        return
    gitlab = forge.name == "gitlab"
    comments = [
        ReviewComment(s.path, s.start, s.end, comment_body(s, gitlab=gitlab)) for s in fresh
    ]
    count = plural(sum(len(s.findings) for s in fresh), "container")
    summary = REVIEW_SUMMARY.format(count=count)
    forge.post_review(repo, number, head, summary, comments, request_changes=request_changes)


def _resolve_fixed(
    forge: ReviewForge,
    repo: RepoRef,
    number: int,
    head: str,
    findings: Sequence[Finding],
    ours: Sequence[ReviewThread],
    ignored: frozenset[str],
) -> frozenset[str]:
    """Answer (GitHub) or resolve (GitLab) each of our threads whose findings are all gone
    (not merely ignored: those are gone from the findings too). Returns the fingerprints of
    every thread answered fixed, now or before."""
    current = {finding.fingerprint for finding in findings} | ignored
    fixed: set[str] = set()
    for thread in ours:
        marker = parse_comment_marker(thread.body)
        if marker is None:
            continue
        if thread.resolved or _answered_fixed(thread):
            fixed.update(marker[0])
            continue  # answered before
        if not current.intersection(marker[0]):
            forge.resolve_review_thread(repo, number, thread, FIXED_REPLY.format(sha=head[:12]))
            fixed.update(marker[0])
    return frozenset(fixed)


def _dismiss_settled(
    forge: ReviewForge,
    repo: RepoRef,
    number: int,
    head: str,
    ours: Sequence[ReviewThread],
    states: Mapping[str, str],
    settled: frozenset[str],
) -> None:
    """Dismiss each of the bot's reviews still requesting changes once every thread of it is
    answered fixed or ignored: nothing is left to change, so it no longer blocks merging."""
    threads_of: dict[str, list[tuple[str, ...]]] = {}
    for thread in ours:
        marker = parse_comment_marker(thread.body)
        if marker is not None and thread.review_id:
            threads_of.setdefault(thread.review_id, []).append(marker[0])
    for review_id, markers in threads_of.items():
        if states.get(review_id) != CHANGES_REQUESTED:
            continue
        if all(settled.issuperset(fingerprints) for fingerprints in markers):
            forge.dismiss_review(repo, number, review_id, DISMISS_MESSAGE.format(sha=head[:12]))
