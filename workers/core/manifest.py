"""Check or fix one manifest file: parse → detect → splice edits → guard, chunk by chunk."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from yaml.nodes import Node

from workers.config.model import Config
from workers.core import guard
from workers.core.detect import Target, detect
from workers.core.exemptions import file_ignored
from workers.core.findings import FileReport, Finding
from workers.core.patch import apply, edits_for, is_json, line_ending
from workers.core.workloads import NEVER_WORKLOADS
from workers.core.yamldoc import (
    BOM,
    Chunk,
    ParsedText,
    Unparseable,
    check_structure,
    decode,
    node_paths,
    parse,
)

# Cheap pre-filters: text without these holds no container to judge (a Tekton task's steps
# may carry neither word).
CANDIDATE_MARKERS = (b"ontainer", b"script", b"steps")
TEXT_MARKERS = tuple(marker.decode() for marker in CANDIDATE_MARKERS)
TOP_LEVEL_KIND = re.compile(r"^[\"']?kind[\"']?[ \t]*:[ \t]*[\"']?([A-Za-z]*)", re.MULTILINE)


def is_candidate(data: bytes) -> bool:
    return any(marker in data for marker in CANDIDATE_MARKERS)


def worth_composing(chunk: str) -> bool:
    """Compose a document only if it may hold containers: CRDs, ConfigMaps and friends
    (often the bulk of a large bundle) are never workloads."""
    if not any(marker in chunk for marker in TEXT_MARKERS):
        return False
    if chunk.lstrip("-# \t\r\n").startswith(("{", "[")):
        return True  # flow style: no line-based guess
    # A block mapping's own `kind:` sits at column 0; a line that only looks like one (inside
    # a multi-line quoted string) must not hide a workload, so every such line must agree.
    kinds = TOP_LEVEL_KIND.findall(chunk)
    return not kinds or any(kind not in NEVER_WORKLOADS for kind in kinds)


def check_manifest(
    path: str,
    data: bytes,
    config: Config,
    *,
    fix: bool = False,
    declined: frozenset[str] = frozenset(),
) -> FileReport:
    """Findings for one file; with `fix`, also the patched bytes (or why it stays unchanged).

    Findings whose fingerprint is in `declined` are reported as exempted, never patched."""
    if not is_candidate(data):
        return FileReport(path)
    try:
        text = decode(data)
        if file_ignored(text):
            return FileReport(path)
        parsed = parse(text, worth_composing)
        found = detect(path, parsed, config, declined)
        # Documents with findings get the full structure check (duplicate keys anywhere,
        # alias bombs), so `check` skips exactly what `fix` would refuse to patch.
        for chunk in {id(t.chunk): t.chunk for t in found.targets}.values():
            for root in chunk.documents or ():
                if root is not None:
                    check_structure(root, chunk.line)
    except Unparseable as error:
        return FileReport(path, skipped=str(error))
    report = FileReport(path, tuple(found.findings), tuple(found.exempted))
    if not fix or not found.targets:
        return report
    return _fix(report, parsed, found.targets)


def _fix(report: FileReport, parsed: ParsedText, targets: Sequence[Target]) -> FileReport:
    json_file = is_json(report.path, parsed.body)
    eol = line_ending(parsed.body)
    unfixable: list[tuple[Finding, str]] = []
    new_texts: dict[int, str] = {}  # chunk start -> patched chunk text
    for chunk in parsed.chunks:
        mine = [target for target in targets if target.chunk is chunk]
        if not mine:
            continue
        edits, failed = edits_for(mine, chunk.text, json_style=json_file, eol=eol)
        unfixable.extend((target.finding, reason) for target, reason in failed)
        fixable = [target for target in mine if all(target is not bad for bad, _ in failed)]
        if not edits:
            continue
        try:
            new_text = apply(chunk.text, edits)
            guard.check(
                chunk.text,
                new_text,
                containers=[
                    (t.finding.document - chunk.first_index, path)
                    for t in fixable
                    for path in t.paths
                ],
                edited=_edited_elsewhere(chunk, fixable),
                json_file=json_file,
            )
        except (guard.GuardFailure, Unparseable, ValueError) as error:
            return replace(report, skipped=f"left unchanged: {error}", unfixable=tuple(unfixable))
        new_texts[chunk.start] = new_text
    if not new_texts:
        return replace(report, unfixable=tuple(unfixable))
    body = "".join(new_texts.get(chunk.start, chunk.text) for chunk in parsed.chunks)
    fixed = ((BOM if parsed.bom else "") + body).encode("utf-8")
    return replace(report, fixed=fixed, unfixable=tuple(unfixable))


def _edited_elsewhere(chunk: Chunk, targets: Sequence[Target]) -> list[guard.Located]:
    """Where an edit lands outside the container itself: a merge source, or an anchored
    scalar that aliases elsewhere also read. The guard allows changes at those places."""
    wanted: dict[int, set[int]] = {}
    for target in targets:
        policy = target.policy
        if policy is None:
            continue
        start = policy.value.start_mark.index
        if policy.owner is not target.container or chunk.text.startswith("&", start):
            nodes: tuple[Node, ...] = (policy.value, policy.owner)
            offset = target.finding.document - chunk.first_index
            wanted.setdefault(offset, set()).update(id(n) for n in nodes)
    located: list[guard.Located] = []
    for offset, ids in wanted.items():
        root = (chunk.documents or ())[offset]
        if root is not None:
            for paths in node_paths(root, ids).values():
                located.extend((offset, path) for path in paths)
    return located
