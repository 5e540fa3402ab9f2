"""Findings as a SARIF 2.1.0 log, for code scanning dashboards (GitHub, GitLab, IDEs)."""

from __future__ import annotations

from collections.abc import Sequence

from workers.core.explain import (
    ANNOTATION_TITLE,
    finding_message,
    one_line,
    verification_line,
    violations,
)
from workers.core.findings import FileReport, Finding
from workers.core.renders import Verification

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "pullpolicy"
TOOL_URI = "https://github.com/pullpolicy/pullpolicy"
RULE_ID = "PP001"
RULE_NAME = "ImagePullPolicyNotAlways"
HELP_URI = "https://github.com/pullpolicy/pullpolicy#why-always"
FINGERPRINT_KEY = "pullpolicy/v1"
RULE_SHORT = ANNOTATION_TITLE  # also the title of GitHub annotations
RULE_FULL = (
    "A container's imagePullPolicy is missing or not Always, so the kubelet may start it from"
    " an image cached on the node."
)
RULE_HELP = (
    "Set imagePullPolicy: Always. With IfNotPresent or Never, a pod can start from an image"
    " cached on the node without registry credentials being checked (another tenant's private"
    " image on a shared node), and a mutable tag re-pushed with a security fix never reaches"
    " nodes that cached the old image. Exempt a container with a `# pullpolicy: ignore`"
    " comment or in .pullpolicy.yml."
)
SKIPPED_NOTIFICATION = "File skipped: {reason}"
NOT_FIXED = " (not fixed: {reason})"

# Characters kept as they are in a relative URI reference (RFC 3986 unreserved plus "/").
_URI_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")


def artifact_uri(path: str) -> str:
    """A repository path as a relative URI: percent-encoded UTF-8 (spaces, `#`, `%`, ...)."""
    return "".join(
        chr(byte) if byte in _URI_SAFE else f"%{byte:02X}"
        for byte in path.encode("utf-8", "surrogatepass")
    )


def _location(path: str, finding: Finding | None = None) -> dict[str, object]:
    physical: dict[str, object] = {"artifactLocation": {"uri": artifact_uri(path)}}
    if finding is not None:
        physical["region"] = {"startLine": finding.line, "startColumn": finding.column}
    return {"physicalLocation": physical}


def _result(finding: Finding, not_fixed: str | None) -> dict[str, object]:
    suffix = NOT_FIXED.format(reason=one_line(not_fixed)) if not_fixed is not None else ""
    return {
        "ruleId": RULE_ID,
        "ruleIndex": 0,
        "level": "warning" if finding.changes_runtime else "note",
        "message": {"text": finding_message(finding) + suffix},
        "locations": [_location(finding.path, finding)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }


def _rule() -> dict[str, object]:
    return {
        "id": RULE_ID,
        "name": RULE_NAME,
        "shortDescription": {"text": RULE_SHORT},
        "fullDescription": {"text": RULE_FULL},
        "help": {"text": RULE_HELP},
        "helpUri": HELP_URI,
        "defaultConfiguration": {"level": "warning"},
    }


def sarif(
    reports: Sequence[FileReport], *, version: str, charts: Sequence[Verification] = ()
) -> dict[str, object]:
    """One run of the `pullpolicy` driver; skipped files and rendered charts become execution
    notifications (a warning when a chart is not verified)."""
    ordered = sorted(reports, key=lambda report: report.path)
    results = [
        _result(finding, not_fixed)
        for report in ordered
        for finding, not_fixed in violations(report)
    ]
    notifications = [
        {
            "level": "warning",
            "message": {"text": SKIPPED_NOTIFICATION.format(reason=one_line(report.skipped))},
            "locations": [_location(report.path)],
        }
        for report in ordered
        if report.skipped is not None
    ]
    notifications += [
        {
            "level": "note" if chart.verified else "warning",
            "message": {"text": verification_line(chart)},
            "locations": [_location(chart.root or ".")],
        }
        for chart in charts
    ]
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": version,
                "informationUri": TOOL_URI,
                "rules": [_rule()],
            }
        },
        # Finding columns count characters (code points), as the YAML parser reports them.
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
