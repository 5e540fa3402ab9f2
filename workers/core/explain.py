"""Short texts about findings: PR title, commit message, hidden marker, text report, annotations.

The PR body lives in `explain_markdown`, SARIF in `sarif`; both build on the helpers here.
Values in findings come from untrusted repositories: everything printed passes `one_line`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from workers.config.model import Config
from workers.core.findings import FileReport, Finding, Source
from workers.core.renders import Verification

WANTED = "Always"
TITLE_PREFIX = "Set imagePullPolicy: Always"
COMMIT_SUBJECT_MAX = 72
COMMIT_FILES_MAX = 20
MORE_FILES = "- … and {count} more files"
MARKER_PREFIX = "<!-- pullpolicy:v1 "
MARKER_SUFFIX = " -->"
FINDING_MESSAGE = "{subject}: imagePullPolicy is {current}, want Always"
MISSING_WORD = "missing"
EMPTY_WORD = "empty"
ANNOTATION_TITLE = "imagePullPolicy is not Always"
SKIPPED_TITLE = "pullpolicy skipped this file"
NOT_FIXED = " (not fixed: {reason})"
SKIPPED_LINE = "{path}: skipped: {reason}"
VALUE_MAX_CHARS = 200
PATH_MAX_CHARS = 1024  # paths are never cut short in practice: they locate the finding

# C0/C1 controls, line/paragraph separators and bidi overrides ("trojan source"): never printed raw.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_unsafe(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED_ESCAPES.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def one_line(text: str, max_chars: int = VALUE_MAX_CHARS) -> str:
    """Untrusted text as one visible line: control characters escaped, long values cut."""
    text = _UNSAFE.sub(_escape_unsafe, text)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def path_text(path: str) -> str:
    return one_line(path, max_chars=PATH_MAX_CHARS)


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural_noun or noun + 's'}"


def scope_phrase(findings: Sequence[Finding]) -> str:
    """E.g. "3 containers and 1 Helm value in 2 files"."""
    helm = sum(1 for finding in findings if finding.source is Source.HELM_VALUES)
    containers = len(findings) - helm
    parts = [plural(containers, "container")] if containers or not helm else []
    if helm:
        parts.append(plural(helm, "Helm value"))
    files = len({finding.path for finding in findings})
    return f"{' and '.join(parts)} in {plural(files, 'file')}"


def current_word(finding: Finding) -> str:
    if finding.current is None:
        return MISSING_WORD
    return one_line(finding.current) if finding.current else EMPTY_WORD


def finding_subject(finding: Finding) -> str:
    """What is being fixed, e.g. "Deployment/web container 'app' (nginx:1.25)"; for a
    rendered container, where it is rendered and the value that decides it."""
    if finding.rendered_in is not None:
        return _container_subject(finding) + rendered_suffix(finding)
    if finding.source is Source.HELM_VALUES:
        return f"Helm value '{one_line(finding.value_path or '?')}'"
    return _container_subject(finding)


def _container_subject(finding: Finding) -> str:
    obj = f"{one_line(finding.kind)}/{one_line(finding.name)}"
    where = f"{obj} container '{one_line(finding.container)}'"
    return f"{where} ({one_line(finding.image)})" if finding.image is not None else where


def rendered_suffix(finding: Finding) -> str:
    """ " rendered in chart 'x' from value 'image.pullPolicy'": rendered-only findings name
    the render that holds the container; the finding's file and line are its source."""
    if finding.rendered_in is None:
        return ""
    text = f" rendered in {path_text(finding.rendered_in)}"
    if finding.value_path:
        text += f" from value '{one_line(finding.value_path)}'"
    return text


def verification_line(verification: Verification) -> str:
    """One chart or kustomization: verified (rendered before and after the fix) or why not."""
    what = f"{verification.kind} {path_text(verification.root or '.')}"
    if verification.verified:
        counts = (
            f"{verification.before} non-Always rendered before the fix, {verification.after} after"
        )
        return f"{what}: verified ({counts})"
    return f"{what}: not verified: {one_line(verification.reason or 'no reason given')}"


def finding_message(finding: Finding) -> str:
    return FINDING_MESSAGE.format(subject=finding_subject(finding), current=current_word(finding))


def pr_title(findings: Sequence[Finding], config: Config) -> str:
    custom = config.pull_request.title
    if custom and custom.strip():
        return one_line(custom.strip(), max_chars=256)
    return f"{TITLE_PREFIX} on {scope_phrase(findings)}"


def _commit_subject(findings: Sequence[Finding]) -> str:
    files = len({finding.path for finding in findings})
    candidates = (
        f"{TITLE_PREFIX} on {scope_phrase(findings)}",
        f"{TITLE_PREFIX} in {plural(files, 'file')}",
    )
    return next((c for c in candidates if len(c) <= COMMIT_SUBJECT_MAX), TITLE_PREFIX)


def commit_message(findings: Sequence[Finding], config: Config) -> str:
    custom = config.pull_request.commit_message
    if custom and custom.strip():
        return custom
    per_file = Counter(finding.path for finding in findings)
    lines = [f"- {path_text(path)}: {count}" for path, count in sorted(per_file.items())]
    if len(lines) > COMMIT_FILES_MAX:
        more = len(lines) - COMMIT_FILES_MAX
        lines = [*lines[:COMMIT_FILES_MAX], MORE_FILES.format(count=more)]
    return "\n".join([_commit_subject(findings), "", *lines])


def render_marker(version: str, fingerprints: Iterable[str]) -> str:
    """The hidden state at the end of a PR body: tool version and sorted fingerprints."""
    payload = json.dumps(
        {"version": version, "fingerprints": sorted(set(fingerprints))},
        separators=(",", ":"),
    )
    # "<" and ">" as JSON escapes: nothing in the payload can close the HTML comment early.
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e")
    return f"{MARKER_PREFIX}{payload}{MARKER_SUFFIX}"


def parse_marker(body: str) -> tuple[str, frozenset[str]] | None:
    """The version and fingerprints of the last marker in `body`; None if absent or malformed."""
    start = body.rfind(MARKER_PREFIX)
    if start < 0:
        return None
    start += len(MARKER_PREFIX)
    end = body.find(MARKER_SUFFIX, start)
    if end < 0:
        return None
    try:
        data = json.loads(body[start:end])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    version, fingerprints = data.get("version"), data.get("fingerprints")
    if not isinstance(version, str) or not isinstance(fingerprints, list):
        return None
    if not all(isinstance(fp, str) for fp in fingerprints):
        return None
    return version, frozenset(fingerprints)


def body_digest(body: str) -> str:
    """sha256 of a body; line endings normalised since forges may store bodies with CRLF."""
    normalised = body.replace("\r\n", "\n").strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def violations(report: FileReport) -> list[tuple[Finding, str | None]]:
    """Findings plus unfixable ones not already among them, each with its not-fixed reason."""
    unfixable = {finding.fingerprint: reason for finding, reason in report.unfixable}
    known = {finding.fingerprint for finding in report.findings}
    extra = [finding for finding, _ in report.unfixable if finding.fingerprint not in known]
    ordered = sorted([*report.findings, *extra], key=lambda f: (f.line, f.column, f.fingerprint))
    return [(finding, unfixable.get(finding.fingerprint)) for finding in ordered]


def text_report(reports: Sequence[FileReport], charts: Sequence[Verification] = ()) -> str:
    """Compiler-style lines for `pullpolicy check`, then skipped files, then the rendered
    charts (`verification_line`s), then one summary line."""
    lines: list[str] = []
    skipped: list[str] = []
    found = exempted = 0
    files_with_findings: set[str] = set()
    for report in sorted(reports, key=lambda r: r.path):
        exempted += len(report.exempted)
        if report.skipped is not None:
            skipped.append(
                SKIPPED_LINE.format(path=path_text(report.path), reason=one_line(report.skipped))
            )
        for finding, reason in violations(report):
            location = f"{path_text(finding.path)}:{finding.line}:{finding.column}"
            suffix = NOT_FIXED.format(reason=one_line(reason)) if reason is not None else ""
            lines.append(f"{location}: {finding_message(finding)}{suffix}")
            files_with_findings.add(finding.path)
            found += 1
    details = [f"{plural(len(reports) - len(skipped), 'file')} checked"]  # skipped: not checked
    if exempted:
        details.append(f"{exempted} exempted")
    if skipped:
        details.append(f"{plural(len(skipped), 'file')} skipped")
    summary = (
        f"{plural(found, 'finding')} in {plural(len(files_with_findings), 'file')}"
        f" ({', '.join(details)})"
    )
    rendered = [verification_line(chart) for chart in charts]
    return "\n".join([*lines, *skipped, *rendered, summary]) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _workflow_command(level: str, properties: dict[str, str | int], message: str) -> str:
    props = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties.items())
    return f"::{level} {props}::{_escape_data(message)}"


def github_annotations(reports: Sequence[FileReport]) -> list[str]:
    """GitHub Actions workflow commands: one per finding ("notice" when it only makes the
    default explicit), one warning per skipped file."""
    commands: list[str] = []
    for report in sorted(reports, key=lambda r: r.path):
        if report.skipped is not None:
            commands.append(
                _workflow_command(
                    "warning",
                    {"file": path_text(report.path), "title": SKIPPED_TITLE},
                    one_line(report.skipped),
                )
            )
        for finding, reason in violations(report):
            level = "warning" if finding.changes_runtime else "notice"
            suffix = NOT_FIXED.format(reason=one_line(reason)) if reason is not None else ""
            properties: dict[str, str | int] = {
                "file": path_text(finding.path),
                "line": finding.line,
                "col": finding.column,
                "title": ANNOTATION_TITLE,
            }
            commands.append(_workflow_command(level, properties, finding_message(finding) + suffix))
    return commands
