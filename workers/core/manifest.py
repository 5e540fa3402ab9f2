"""Check or fix one manifest file: parse → detect → splice edits → guard, chunk by chunk."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from yaml.nodes import Node

from workers.config.model import Config
from workers.core import guard
from workers.core.detect import Target, detect
from workers.core.exemptions import file_ignored
from workers.core.findings import Exempted, FileReport, Finding
from workers.core.patch import Unfixable, apply, edits_for, is_json, line_ending
from workers.core.workloads import NEVER_WORKLOADS
from workers.core.yamldoc import (
    BOM,
    WIDE_BOMS,
    Chunk,
    ParsedText,
    Unparseable,
    check_structure,
    decode,
    encoding_of,
    iter_chunks,
    node_paths,
    strip_bom,
)

# Cheap pre-filters: text without these holds no container to judge (a Tekton task's steps
# may carry neither word).
CANDIDATE_MARKERS = (b"ontainer", b"script", b"steps")
TEXT_MARKERS = tuple(marker.decode() for marker in CANDIDATE_MARKERS)
# ...unless a key spells them with escapes: JSON's and YAML's `\u006F`, YAML's `\x6F`, `\U...`
# and a line break escaped inside a double-quoted key. No other escape stands for a letter.
ESCAPED_LETTER = re.compile(r"\\(?:[xuU]|\r?\n)")
ESCAPED_LETTER_BYTES = re.compile(ESCAPED_LETTER.pattern.encode())
TOP_LEVEL_KIND = re.compile(r"^[\"']?kind[\"']?[ \t]*:[ \t]*[\"']?([A-Za-z]*)", re.MULTILINE)


def is_candidate(data: bytes) -> bool:
    """Whether the bytes may hold a container. Text in another encoding than UTF-8 (a UTF-16/32
    BOM) and NUL bytes (UTF-16 without one, binary) are always read, so they are checked or
    skipped with a reason, never passed as clean."""
    return (
        any(marker in data for marker in CANDIDATE_MARKERS)
        or data.startswith(tuple(bom for bom, _ in WIDE_BOMS))
        or b"\x00" in data
        or (b"\\" in data and ESCAPED_LETTER_BYTES.search(data) is not None)
    )


def worth_composing(chunk: str) -> bool:
    """Compose a document only if it may hold containers: CRDs, ConfigMaps and friends
    (often the bulk of a large bundle) are never workloads."""
    if not any(marker in chunk for marker in TEXT_MARKERS) and not (
        "\\" in chunk and ESCAPED_LETTER.search(chunk)
    ):
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

    Findings whose fingerprint is in `declined` are reported as exempted, never patched.
    Chunks are handled one at a time and only text is kept from each: time and memory grow
    linearly with the file, however many documents it holds."""
    if not is_candidate(data):
        return FileReport(path)
    findings: list[Finding] = []
    exempted: list[Exempted] = []
    fixes = _Fixes(path) if fix else None
    try:
        text = decode(data)
        if file_ignored(text):
            return FileReport(path)
        body, bom = strip_bom(text)
        if fixes is not None:
            fixes.start(body, bom, encoding_of(data))
            fixes.original = text  # decoded, BOM included: the whole-file check compares it
        for chunk in iter_chunks(body, worth_composing):
            found = detect(path, ParsedText(chunk.text, False, (chunk,)), config, declined)
            if found.malformed:  # skipped, not passed: its containers cannot be judged
                raise Unparseable("; ".join(found.malformed))
            if found.targets:
                # Documents with findings get the full structure check (duplicate keys
                # anywhere, alias bombs), so `check` skips exactly what `fix` would refuse.
                for root in chunk.documents or ():
                    if root is not None:
                        check_structure(root, chunk.line)
            findings.extend(found.findings)
            exempted.extend(found.exempted)
            if fixes is not None:
                fixes.add(chunk, found.targets)
    except Unparseable as error:
        return FileReport(path, skipped=str(error))
    report = FileReport(path, tuple(findings), tuple(exempted))
    return report if fixes is None else fixes.apply_to(report)


# The guard parses several patched chunks at once: one parser per chunk cost more than the
# parsing itself on files of many small documents; the cap keeps its memory bounded.
GUARD_BATCH_CHARS = 64 * 1024


@dataclass(frozen=True)
class _Patched:
    """One chunk's patch, waiting for the guard (document indices relative to the chunk).
    Text only: the chunk's nodes are let go once its edits are made."""

    old_text: str
    new_text: str
    first_index: int
    documents: int
    containers: list[guard.Located]
    edited: list[guard.Located]


class _Fixes:
    """The fix of one file, built chunk by chunk, guarded and joined at the end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pieces: list[str] = []  # every chunk's text in order, patched where fixed
        self.patched: list[_Patched] = []
        self.unfixable: list[tuple[Finding, str]] = []
        self.failure: str | None = None  # why the file stays unchanged, once known
        self.bom = False
        self.json_file = False
        self.eol = "\n"
        self.codec = "utf-8"
        self.original = ""

    def start(self, body: str, bom: bool, codec: str) -> None:
        self.bom = bom
        self.codec = codec
        self.json_file = is_json(self.path, body)
        self.eol = line_ending(body)

    def add(self, chunk: Chunk, targets: Sequence[Target]) -> None:
        if not targets or self.failure is not None:
            self.pieces.append(chunk.text)
            return
        edits, failed = edits_for(targets, chunk.text, json_style=self.json_file, eol=self.eol)
        self.unfixable.extend((target.finding, reason) for target, reason in failed)
        failed_ids = {id(bad) for bad, _ in failed}
        fixable = [target for target in targets if id(target) not in failed_ids]
        if not edits:
            self.pieces.append(chunk.text)
            return
        try:
            new_text = apply(chunk.text, edits)
        except (Unfixable, ValueError) as error:  # e.g. overlapping edits: refuse, never crash
            self.failure = str(error)
            self.pieces.append(chunk.text)
            return
        first = chunk.first_index
        containers = [(t.finding.document - first, path) for t in fixable for path in t.paths]
        documents = len(chunk.documents or ())
        edited = _edited_elsewhere(chunk, fixable)
        self.patched.append(_Patched(chunk.text, new_text, first, documents, containers, edited))
        self.pieces.append(new_text)

    def apply_to(self, report: FileReport) -> FileReport:
        unfixable = tuple(self.unfixable)
        try:
            if self.failure is not None:
                raise guard.GuardFailure(self.failure)
            for batch in _batches(self.patched):
                _guard(batch, json_file=self.json_file)
        except (guard.GuardFailure, Unparseable, ValueError) as error:
            return replace(report, skipped=f"left unchanged: {error}", unfixable=unfixable)
        if not self.patched:
            return replace(report, unfixable=unfixable)
        text = (BOM if self.bom else "") + "".join(self.pieces)
        try:
            guard.check_file(self.original, text)
        except guard.GuardFailure as error:
            return replace(report, skipped=f"left unchanged: {error}", unfixable=unfixable)
        fixed = text.encode(self.codec)  # its own bytes, BOM
        return replace(report, fixed=fixed, unfixable=unfixable)


def _batches(patched: Sequence[_Patched]) -> Iterator[list[_Patched]]:
    batch: list[_Patched] = []
    size = 0
    for item in patched:
        batch.append(item)
        size += len(item.old_text)
        if size >= GUARD_BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _guard(batch: Sequence[_Patched], *, json_file: bool) -> None:
    """One guard run over consecutive patched chunks, joined in file order. Chunks start at a
    `---` line (or the top of the file), so their concatenation is a stream of exactly their
    documents, and chunks left out in between change no document boundary."""
    containers: list[guard.Located] = []
    edited: list[guard.Located] = []
    numbers: list[int] = []  # document index in the batch -> in the file, for messages
    for item in batch:
        offset = len(numbers)
        containers.extend((offset + doc, path) for doc, path in item.containers)
        edited.extend((offset + doc, path) for doc, path in item.edited)
        numbers.extend(range(item.first_index, item.first_index + item.documents))
    guard.check(
        "".join(item.old_text for item in batch),
        "".join(item.new_text for item in batch),
        containers=containers,
        edited=edited,
        json_file=json_file,
        numbers=numbers,
    )


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
