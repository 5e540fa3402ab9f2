"""Check or fix one manifest file: parse → detect → splice edits → guard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from yaml.nodes import Node

from workers.config import Config
from workers.core import guard
from workers.core.detect import Target, detect
from workers.core.exemptions import file_ignored
from workers.core.findings import FileReport
from workers.core.patch import apply, edits_for, is_json
from workers.core.yamldoc import BOM, ParsedText, Unparseable, decode, node_paths, parse

# Cheap pre-filter: a file without these substrings holds no container to judge.
CANDIDATE_MARKERS = (b"ontainer", b"script")


def is_candidate(data: bytes) -> bool:
    return any(marker in data for marker in CANDIDATE_MARKERS)


def check_manifest(path: str, data: bytes, config: Config, *, fix: bool = False) -> FileReport:
    """Findings for one file; with `fix`, also the patched bytes (or why it stays unchanged)."""
    if not is_candidate(data):
        return FileReport(path)
    try:
        text = decode(data)
        if file_ignored(text):
            return FileReport(path)
        parsed = parse(text)
    except Unparseable as error:
        return FileReport(path, skipped=str(error))
    found = detect(path, parsed, config)
    report = FileReport(path, tuple(found.findings), tuple(found.exempted))
    if not fix or not found.targets:
        return report
    return _fix(report, parsed, found.targets)


def _fix(report: FileReport, parsed: ParsedText, targets: Sequence[Target]) -> FileReport:
    body = parsed.body
    edits, failed = edits_for(targets, body, path=report.path)
    unfixable = tuple((target.finding, reason) for target, reason in failed)
    fixable = [target for target in targets if all(target is not bad for bad, _ in failed)]
    if not edits:
        return replace(report, unfixable=unfixable)
    try:
        new_body = apply(body, edits)
        guard.check(
            body,
            new_body,
            containers=[(t.finding.document, path) for t in fixable for path in t.paths],
            edited=_edited_elsewhere(parsed, fixable),
            json_file=is_json(report.path, body),
        )
    except (guard.GuardFailure, ValueError) as error:
        return replace(report, skipped=f"left unchanged: {error}", unfixable=unfixable)
    prefix = BOM if parsed.bom else ""
    return replace(report, fixed=(prefix + new_body).encode("utf-8"), unfixable=unfixable)


def _edited_elsewhere(parsed: ParsedText, targets: Sequence[Target]) -> list[guard.Located]:
    """Where an edit lands outside the container itself: a merge source, or an anchored
    scalar that aliases elsewhere also read. The guard allows changes at those places."""
    wanted: dict[int, set[int]] = {}
    for target in targets:
        policy = target.policy
        if policy is None:
            continue
        start = policy.value.start_mark.index
        if policy.owner is not target.container or parsed.body.startswith("&", start):
            nodes: tuple[Node, ...] = (policy.value, policy.owner)
            wanted.setdefault(target.finding.document, set()).update(id(n) for n in nodes)
    located: list[guard.Located] = []
    for document, ids in wanted.items():
        root = parsed.documents[document]
        if root is not None:
            for paths in node_paths(root, ids).values():
                located.extend((document, path) for path in paths)
    return located
