"""Many-documents benchmark (not a test): one 5 MiB file of one-line Pods, check and fix
against parsing it with libyaml.

The file holds as many `---` + one-line flow-style Pod documents (one container, no
`imagePullPolicy`: every one is a finding to fix) as fit in the 5 MiB a scan accepts. Phases,
each run REPEAT times in a fresh Python process:

- parse: `yaml.load_all(data, Loader=yaml.CSafeLoader)`, every document consumed — the baseline;
- check: `check_manifest(path, data, Config())`, what `pullpolicy check` does per file;
- fix: `check_manifest(path, data, Config(), fix=True)`, patches and the guard included.

The clock is the child's CPU time (`time.process_time`) around the work only (imports and
building the file are not timed): on a shared machine, wall time measures the neighbours. The
peak RSS is the child's `ru_maxrss` from `os.wait4`. Printed: median CPU seconds, its
ratio to the parse median, the largest peak RSS, and the targets (check and fix <= 2x parse,
peak RSS <= 300 MB) as PASS/MISS.

    .venv/bin/python bench/bench_many_documents.py [--repeat N] [--documents N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
FILE_BYTES = 5 * 1024 * 1024  # the largest manifest a scan reads (workers.core.tree)
PHASES = ("parse", "check", "fix")
TIME_TARGET = 2.0  # x parse
RSS_TARGET_MB = 300.0
POD = "---\n{apiVersion: v1, kind: Pod, metadata: {name: p%d}, spec: {containers: [{image: x}]}}\n"


def many_pods(limit_bytes: int = FILE_BYTES, documents: int | None = None) -> bytes:
    """As many one-line Pod documents as fit in `limit_bytes` (or exactly `documents`)."""
    parts: list[str] = []
    size = 0
    while documents is None or len(parts) < documents:
        part = POD % len(parts)
        if documents is None and size + len(part) > limit_bytes:
            break
        parts.append(part)
        size += len(part)
    return "".join(parts).encode()


def run_phase(phase: str, documents: int | None) -> None:
    """In the child: build the file, time one phase, print the seconds as JSON."""
    sys.path.insert(0, str(REPOSITORY))
    import yaml

    from workers.config.model import Config
    from workers.core.manifest import check_manifest

    data = many_pods(documents=documents)
    started = time.process_time()
    if phase == "parse":
        for _ in yaml.load_all(data, Loader=yaml.CSafeLoader):
            pass
    else:
        report = check_manifest("pods.yaml", data, Config(), fix=phase == "fix")
        if report.skipped or (phase == "fix" and report.fixed is None):
            raise SystemExit(f"{phase}: unexpected outcome: {report.skipped}")
    seconds = time.process_time() - started
    print(json.dumps({"seconds": seconds, "bytes": len(data), "documents": data.count(b"---")}))


def measure(phase: str, documents: int | None) -> tuple[float, float, dict[str, int]]:
    """(seconds, peak RSS in MB, file facts) of one run of `phase` in a fresh process."""
    args = [sys.executable, __file__, "--phase", phase]
    if documents is not None:
        args += ["--documents", str(documents)]
    child = subprocess.Popen(args, stdout=subprocess.PIPE)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{phase} failed with exit code {child.returncode}")
    result = json.loads(output)
    return result["seconds"], usage.ru_maxrss / 1024, result  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--documents", type=int, help="this many documents instead of 5 MiB")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args.phase, args.documents)
        return
    rows: dict[str, tuple[float, float]] = {}
    facts: dict[str, int] = {}
    for phase in PHASES:
        runs = [measure(phase, args.documents) for _ in range(args.repeat)]
        facts = runs[0][2]
        rows[phase] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
    print(f"file: {facts['bytes']:,} bytes, {facts['documents']:,} one-line Pod documents")
    print(f"{'phase':<6} {'CPU s':>9} {'vs parse':>9} {'target':>7} {'peak MB':>8} {'target':>7}")
    parse_seconds = rows["parse"][0]
    for phase, (seconds, rss) in rows.items():
        ratio = seconds / parse_seconds
        time_ok = "-" if phase == "parse" else ("PASS" if ratio <= TIME_TARGET else "MISS")
        rss_ok = "-" if phase == "parse" else ("PASS" if rss <= RSS_TARGET_MB else "MISS")
        print(f"{phase:<6} {seconds:>9.2f} {ratio:>8.2f}x {time_ok:>7} {rss:>8.0f} {rss_ok:>7}")


if __name__ == "__main__":
    main()
