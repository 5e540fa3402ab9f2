"""`pullpolicy check`: report, change nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workers import __version__
from workers.cli.inputs import displayed, resolve, run_scan
from workers.core.explain import github_annotations, text_report
from workers.core.findings import FileReport
from workers.core.sarif import sarif


def run_check(paths: Sequence[Path], config_file: Path | None, output: str) -> int:
    inputs = resolve(paths, config_file)
    reports = [displayed(report, item.prefix) for item, report in run_scan(inputs, fix=False)]
    if output == "json":
        sys.stdout.write(json.dumps(as_json(reports), indent=2) + "\n")
    elif output == "sarif":
        sys.stdout.write(json.dumps(sarif(reports, version=__version__), indent=2) + "\n")
    elif output == "github":
        sys.stdout.write("".join(line + "\n" for line in github_annotations(reports)))
    else:
        sys.stdout.write(text_report(reports))
    return 1 if any(report.findings for report in reports) else 0


def as_json(reports: Sequence[FileReport]) -> dict[str, Any]:
    return {
        "version": __version__,
        "findings": [asdict(f) for r in reports for f in r.findings],
        "exempted": [
            {**asdict(e.finding), "reason": e.reason} for r in reports for e in r.exempted
        ],
        "skipped": [{"path": r.path, "reason": r.skipped} for r in reports if r.skipped],
    }
