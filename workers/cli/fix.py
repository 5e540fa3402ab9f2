"""`pullpolicy fix`: patch files in place (or show the patch), byte-minimally."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from workers.cli.errors import UsageError
from workers.cli.inputs import displayed, resolve, run_scan
from workers.cli.output import ReaderMayLeave
from workers.core.explain import one_line, scope_phrase, verification_line
from workers.core.findings import Finding
from workers.core.renders import Verification
from workers.core.yamldoc import decode


def run_fix(
    paths: Sequence[Path],
    config_file: Path | None,
    *,
    diff: bool,
    dry_run: bool,
    to_stdout: bool,
) -> int:
    if to_stdout and (len(paths) != 1 or not paths[0].is_file()):
        raise UsageError("--stdout takes exactly one file")
    inputs = resolve(paths, config_file)
    messages = ReaderMayLeave(sys.stderr if to_stdout else sys.stdout)
    changed = remaining = 0
    fixed: list[Finding] = []  # what the fix changes, for the summary's words
    charts: list[Verification] = []
    for item, raw in run_scan(inputs, fix=True, charts=charts):
        report = displayed(raw, item.prefix)
        if to_stdout:
            sys.stdout.buffer.write(
                raw.fixed if raw.fixed is not None else item.tree.read(raw.path)
            )
        for finding, reason in report.unfixable:
            remaining += 1
            print(f"{finding.path}:{finding.line}: not fixed: {one_line(reason)}", file=messages)
        if report.skipped is not None:
            remaining += len(report.findings)
            print(f"{report.path}: skipped: {one_line(report.skipped)}", file=messages)
        if raw.fixed is None:
            continue
        changed += 1
        left = {finding.fingerprint for finding, _ in report.unfixable}
        fixed.extend(f for f in report.findings if f.fingerprint not in left)
        if diff:
            messages.write(_diff(report.path, item.tree.read(raw.path), raw.fixed))
        if not dry_run and not to_stdout:
            item.tree.write(raw.path, raw.fixed)
    for chart in charts:
        print(verification_line(chart), file=messages)
    verb = "would fix" if dry_run or to_stdout else "fixed"
    # The PR body's words: "5 containers and 1 Helm value in 4 files".
    summary = f"{verb} {scope_phrase(fixed)}"
    if remaining:
        summary += f"; {remaining} left unfixed"
    print(summary, file=messages)
    return 1 if changed or remaining else 0


def _diff(path: str, old: bytes, new: bytes) -> str:
    before = decode(old).splitlines(keepends=True)  # UTF-16/32 files are diffed as text too
    after = decode(new).splitlines(keepends=True)
    name = path.lstrip("/")
    lines = difflib.unified_diff(before, after, f"a/{name}", f"b/{name}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
