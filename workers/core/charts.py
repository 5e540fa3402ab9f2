"""A Helm chart judged by what Helm renders, and fixed at the sources that decide it. Pure.

Targets are the rendered containers that are not `Always`. Each candidate source edit
(workers/core/chart_sources.py) is applied alone and the chart rendered again: the targets it
moves to `Always`, with nothing else changed (`difference`), are attributed to it; this
follows helpers, `default` chains, `with` blocks and `global` without evaluating a template
here. The kept edits are then applied together and rendered once more: the chart's fix stands
only if that render is the original with pull policies moved to Always; else the edits are
combined again one at a time and each one that breaks the render is dropped with the reason.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from workers.config.model import Config
from workers.core import guard
from workers.core.chart_sources import Candidate, candidates, decoded
from workers.core.findings import Exempted, FileReport, Finding, Source, fingerprint
from workers.core.patch import Unfixable, apply
from workers.core.renders import (
    CHART,
    Render,
    Rendered,
    RenderFailed,
    Verification,
    difference,
    rendered_reports,
)
from workers.core.volatile import Volatile
from workers.core.yamldoc import BOM, encoding_of, strip_bom

MAX_CANDIDATES = 60  # renders per chart: one per candidate, three, one per edit if they clash
NO_SOURCE = "no byte-minimal source edit found that renders it Always"
KIND = CHART


@dataclass(frozen=True)
class ChartResult:
    """Reports for the chart's source files, and whether (and how) it rendered."""

    verification: Verification
    rendered: bool  # False: Helm refused the chart; its sources are checked textually
    reports: tuple[FileReport, ...] = field(default=())


@dataclass(frozen=True)
class _Attributed:
    candidate: Candidate
    targets: tuple[Finding, ...]


def check_chart(
    root: str,
    paths: Iterable[str],
    read: Callable[[str], bytes],
    render: Render,
    config: Config,
    *,
    fix: bool = False,
    declined: frozenset[str] = frozenset(),
    unreadable: type[Exception] = OSError,
) -> ChartResult:
    """Render the chart at `root` (all its files are `paths`), attribute and fix its targets.

    A `read` failure of type `unreadable` leaves that file out of the render."""
    files: dict[str, bytes] = {}
    for path in paths:
        try:
            files[path] = read(path)
        except unreadable:
            continue
    try:
        first = render(files, root)
        # Rendered twice: what varies by itself (random names, passwords) is masked.
        volatile = Volatile(first, render(files, root))
    except RenderFailed as error:
        return ChartResult(
            Verification(KIND, root, verified=False, reason=_reason(error)), rendered=False
        )
    if volatile:
        inner = render

        def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
            return volatile.mask(inner(files, root))

    before = volatile.mask(first)
    targets = _targets(before, config)
    if not targets:
        return ChartResult(Verification(KIND, root, verified=True), rendered=True)
    texts = decoded(files)
    attributed = _attribute(root, files, texts, render, before, targets, config)
    findings = _findings(root, attributed, targets)
    kept = [a for a in attributed if not all(f.fingerprint in declined for f in findings[id(a)])]
    final = _verify(root, files, texts, render, before, kept, config)
    verification = Verification(
        KIND,
        root,
        verified=final.verified,
        reason=final.reason,
        before=len(targets),
        after=final.after,
    )
    return ChartResult(
        verification,
        True,
        _reports(attributed, findings, targets, texts, files, final, declined, fix=fix, root=root),
    )


def _reason(error: RenderFailed) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "the render failed"


def _targets(rendered: Rendered, config: Config) -> dict[str, Finding]:
    return {
        finding.fingerprint: finding
        for report in rendered_reports(rendered, config)
        for finding in report.findings
    }


def _unread(rendered: Rendered, config: Config) -> set[str]:
    """Rendered outputs the core cannot read (duplicate keys, bad YAML): a fix must add none."""
    return {r.path for r in rendered_reports(rendered, config) if r.skipped is not None}


def _edited(
    files: Mapping[str, bytes], texts: Mapping[str, str], chosen: Sequence[Candidate]
) -> dict[str, bytes]:
    """`files` with the candidates applied (each file in its own encoding, BOM kept)."""
    by_path: dict[str, list[Candidate]] = {}
    for candidate in chosen:
        by_path.setdefault(candidate.path, []).append(candidate)
    edited = dict(files)
    for path, group in by_path.items():
        body, bom = strip_bom(texts[path])
        new = apply(body, [c.edit for c in group])
        edited[path] = ((BOM if bom else "") + new).encode(encoding_of(files[path]))
    return edited


def _attribute(
    root: str,
    files: Mapping[str, bytes],
    texts: Mapping[str, str],
    render: Render,
    before: Rendered,
    targets: Mapping[str, Finding],
    config: Config,
) -> list[_Attributed]:
    """Each candidate alone: the targets it moves to Always while nothing else changes."""
    left = dict(targets)
    unread = _unread(before, config)
    kept: list[_Attributed] = []
    for candidate in candidates(root, texts)[:MAX_CANDIDATES]:
        if not left:
            break
        try:
            after = render(_edited(files, texts, [candidate]), root)
        except (RenderFailed, Unfixable):
            continue
        still = _targets(after, config)
        if difference(before, after, config) or _unread(after, config) - unread:
            continue
        moved = tuple(left.pop(fp) for fp in list(left) if fp not in still)
        if moved:
            kept.append(_Attributed(candidate, moved))
    return kept


@dataclass(frozen=True)
class _Final:
    """What stands of a chart's edits once rendered together."""

    reason: str | None  # why edits were dropped (all of them when `kept` is empty)
    after: int  # non-Always containers in the render with every kept edit
    kept: frozenset[int] = frozenset()  # id() of the attributed edits that stand
    dropped: Mapping[int, str] = field(default_factory=dict)  # id() -> why it was dropped

    @property
    def verified(self) -> bool:
        """The chart renders as verified: every edit stands, or a subset that verifies."""
        return self.reason is None or bool(self.kept)


def _verify(
    root: str,
    files: Mapping[str, bytes],
    texts: Mapping[str, str],
    render: Render,
    before: Rendered,
    kept: Sequence[_Attributed],
    config: Config,
) -> _Final:
    """All the edits together when they verify; otherwise the largest set found that does:
    each edit verified alone during attribution, they are combined greedily in source order
    (one render per edit), and each one that breaks the set is dropped with the reason."""
    count = len(_targets(before, config))
    if not kept:
        return _Final(None, count)
    reason, after = _together(root, files, texts, render, before, kept, config)
    if reason is None:
        return _Final(None, after, frozenset(id(a) for a in kept))
    if len(kept) == 1:
        return _Final(f"edits dropped: {reason}", count, dropped={id(kept[0]): reason})
    standing: list[_Attributed] = []
    dropped: dict[int, str] = {}
    after = count
    for attributed in kept:
        why, now = _together(root, files, texts, render, before, [*standing, attributed], config)
        if why is None:
            standing.append(attributed)
            after = now
        else:
            dropped[id(attributed)] = why
    if not standing:
        return _Final(f"edits dropped: {reason}", count, dropped=dropped)
    summary = f"{len(dropped)} of {len(kept)} edits dropped: {next(iter(dropped.values()))}"
    return _Final(summary, after, frozenset(id(a) for a in standing), dropped)


def _together(
    root: str,
    files: Mapping[str, bytes],
    texts: Mapping[str, str],
    render: Render,
    before: Rendered,
    chosen: Sequence[_Attributed],
    config: Config,
) -> tuple[str | None, int]:
    """(why `chosen` applied together fail the render guard or the semantic guard, or None;
    non-Always containers left in their render)."""
    try:
        edited = _edited(files, texts, [a.candidate for a in chosen])
        after = render(edited, root)
    except Unfixable as error:
        return str(error), 0
    except RenderFailed as error:
        return f"the fixed chart does not render: {_reason(error)}", 0
    now = _targets(after, config)
    reason = difference(before, after, config)
    if reason is None and _unread(after, config) - _unread(before, config):
        reason = "a rendered output can no longer be read"
    if reason is None:
        reason = _guard(files, edited, texts, chosen)
    return reason, len(now)


def _guard(
    files: Mapping[str, bytes],
    edited: Mapping[str, bytes],
    texts: Mapping[str, str],
    kept: Sequence[_Attributed],
) -> str | None:
    """The semantic guard on every edited values file (templates are not YAML: for them the
    render just compared is the guard). Inserted keys are checked by their leaf."""
    by_path: dict[str, list[Candidate]] = {}
    for attributed in kept:
        candidate = attributed.candidate
        if candidate.source is Source.HELM_VALUES:
            by_path.setdefault(candidate.path, []).append(candidate)
    for path, group in by_path.items():
        old = texts[path]
        new = edited[path].decode(encoding_of(files[path]))
        edits = [(0, tuple((c.value_path or "").split("."))) for c in group if not c.created]
        try:
            guard.check_file(old, new)
            if all(not c.created for c in group):
                guard.check(
                    strip_bom(old)[0], strip_bom(new)[0], containers=(), edited=edits,
                    json_file=False,
                )  # fmt: skip
        except guard.GuardFailure as error:
            return f"{path}: {error}"
    return None


def _findings(
    root: str, attributed: Sequence[_Attributed], targets: Mapping[str, Finding]
) -> dict[int, tuple[Finding, ...]]:
    """Per attributed candidate: one finding per target, at the candidate's source."""
    chart = root or "."
    return {
        id(a): tuple(
            Finding(
                path=a.candidate.path,
                line=a.candidate.line,
                column=a.candidate.column,
                document=0,
                kind=target.kind,
                name=target.name,
                namespace=target.namespace,
                container_list=target.container_list,
                container=target.container,
                image=target.image,
                current=target.current,
                changes_runtime=target.changes_runtime,
                fingerprint=fingerprint(
                    "helm", chart, target.fingerprint, a.candidate.path, a.candidate.source
                ),
                source=a.candidate.source,
                value_path=a.candidate.value_path,
                rendered_in=chart,
            )
            for target in a.targets
        )
        for a in attributed
    }


def _reports(
    attributed: Sequence[_Attributed],
    findings: Mapping[int, tuple[Finding, ...]],
    targets: Mapping[str, Finding],
    texts: Mapping[str, str],
    files: Mapping[str, bytes],
    final: _Final,
    declined: frozenset[str],
    *,
    fix: bool,
    root: str,
) -> tuple[FileReport, ...]:
    found: dict[str, list[Finding]] = {}
    exempted: dict[str, list[Exempted]] = {}
    unfixable: dict[str, list[tuple[Finding, str]]] = {}
    fixes: dict[str, list[Candidate]] = {}
    claimed: set[str] = set()
    for a in attributed:
        claimed.update(t.fingerprint for t in a.targets)
        mine = [f for f in findings[id(a)] if f.fingerprint not in declined]
        for finding in findings[id(a)]:
            if finding.fingerprint in declined:
                exempted.setdefault(finding.path, []).append(Exempted(finding, "declined"))
        found.setdefault(a.candidate.path, []).extend(mine)
        if not mine:
            continue
        if id(a) in final.kept:
            fixes.setdefault(a.candidate.path, []).append(a.candidate)
        else:
            why = final.dropped.get(id(a)) if final.kept else None
            reason = f"edit dropped: {why}" if why is not None else (final.reason or NO_SOURCE)
            unfixable.setdefault(a.candidate.path, []).extend((f, reason) for f in mine)
    for fp, target in targets.items():
        if fp in claimed:
            continue
        where = _template_of(target.path, root)
        finding = replace(
            target,
            path=where,
            line=1,
            column=1,
            document=0,
            fingerprint=fingerprint("helm", root or ".", fp, where, "unattributed"),
            source=Source.HELM_TEMPLATE,
            rendered_in=root or ".",
        )
        if finding.fingerprint in declined:
            exempted.setdefault(where, []).append(Exempted(finding, "declined"))
            continue
        found.setdefault(where, []).append(finding)
        unfixable.setdefault(where, []).append((finding, NO_SOURCE))
    reports = []
    for path in sorted(set(found) | set(exempted)):
        fixed = None
        if fix and path in fixes:
            body, bom = strip_bom(texts[path])
            new = apply(body, [c.edit for c in fixes[path]])
            fixed = ((BOM if bom else "") + new).encode(encoding_of(files[path]))
        reports.append(
            FileReport(
                path,
                tuple(found.get(path, ())),
                tuple(exempted.get(path, ())),
                fixed=fixed,
                unfixable=tuple(unfixable.get(path, ())),
            )
        )
    return tuple(reports)


def _template_of(rendered: str, root: str) -> str:
    """The template a rendered output came from: the engine names outputs by it."""
    return (
        rendered if not root or rendered.startswith(root + "/") else posixpath.join(root, rendered)
    )
