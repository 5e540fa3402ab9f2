"""`pullpolicy check`: report, change nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workers import __version__
from workers.cli.errors import CLEAN, FINDINGS
from workers.cli.inputs import displayed, resolve, run_scan
from workers.core.explain import github_annotations, text_report
from workers.core.findings import FileReport
from workers.core.renders import CHART, KUSTOMIZATION, Verification
from workers.core.sarif import sarif


def run_check(
    paths: Sequence[Path], config_file: Path | None, output: str, *, strict: bool = False
) -> int:
    """1 on findings; with `strict` (or `strict: true` in a tree's config), also when a file
    was skipped: a CI gate must not pass on manifests it could not read."""
    inputs = resolve(paths, config_file)
    reports: list[FileReport] = []
    charts: list[Verification] = []
    failed_skip = False
    for item, report in run_scan(inputs, fix=False, charts=charts):
        reports.append(displayed(report, item.prefix))
        failed_skip |= report.skipped is not None and (strict or item.config.strict)
    if output == "json":
        sys.stdout.write(json.dumps(as_json(reports, charts), indent=2) + "\n")
    elif output == "sarif":
        log = sarif(reports, version=__version__, charts=charts)
        sys.stdout.write(json.dumps(log, indent=2) + "\n")
    elif output == "github":
        sys.stdout.write("".join(line + "\n" for line in github_annotations(reports)))
    else:
        sys.stdout.write(text_report(reports, charts))
    return FINDINGS if failed_skip or any(report.findings for report in reports) else CLEAN


def as_json(reports: Sequence[FileReport], charts: Sequence[Verification] = ()) -> dict[str, Any]:
    return {
        "version": __version__,
        "findings": [asdict(f) for r in reports for f in r.findings],
        "exempted": [
            {**asdict(e.finding), "reason": e.reason} for r in reports for e in r.exempted
        ],
        "skipped": [{"path": r.path, "reason": r.skipped} for r in reports if r.skipped],
        # rendered before and after the fix, or why not
        "charts": [asdict(chart) for chart in charts if chart.kind == CHART],
        "kustomizations": [asdict(item) for item in charts if item.kind == KUSTOMIZATION],
    }
