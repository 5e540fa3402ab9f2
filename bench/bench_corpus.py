"""Corpus benchmark (not a test): `pullpolicy check` and `fix` against parsing the same files.

In one run, over every .yaml/.yml/.json file of the corpus (default: ../shared/corpus next to
the repository):

- parse: PyYAML's C loader, `yaml.load_all(..., Loader=yaml.CSafeLoader)` on every file,
  consuming the documents, skipping files that fail — the baseline;
- check: `pullpolicy check CORPUS` (the CLI's own entry point, output discarded);
- fix: `pullpolicy fix COPY` on a fresh copy of the corpus (copying is not timed);
- checkov: `checkov -d CORPUS --framework kubernetes --check CKV_K8S_15 --quiet --compact`,
  when checkov is on PATH.

Each phase runs REPEAT times, each time in a fresh Python process; the time is measured inside
that process around the work (interpreter start and imports excluded, except for checkov, an
external program timed from outside), and the peak RSS is that process's `ru_maxrss` as
returned by `os.wait4` (the same accounting as `getrusage(RUSAGE_CHILDREN)`, one child at a
time). The table shows the median time, its ratio to the median parse time, and the largest
peak RSS, then the targets (check <= 0.5x parse, fix <= 1x parse, peak RSS <= 200 MB).

    .venv/bin/python bench/bench_corpus.py [CORPUS] [--repeat N] [--profile check|fix]

`--profile PHASE` skips the table and prints cProfile's hotspots of one run of that phase.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPOSITORY / ".." / "shared" / "corpus"
EXTENSIONS = (".yaml", ".yml", ".json")
SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv"})
PHASES = ("parse", "check", "fix")
CHECK_TARGET = 0.5  # x parse
FIX_TARGET = 1.0  # x parse
RSS_TARGET_MB = 200.0
CHECKOV_ARGS = ("--framework", "kubernetes", "--check", "CKV_K8S_15", "--quiet", "--compact")


@dataclass(frozen=True)
class Result:
    phase: str
    seconds: list[float]
    peak_rss_mb: float
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


# --- the work of each phase, run inside a fresh process ---------------------------------------


def corpus_files(corpus: Path) -> Iterator[Path]:
    for directory, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.lower().endswith(EXTENSIONS):
                yield Path(directory) / name


def parse_all(corpus: Path) -> int:
    """Baseline: load every file with libyaml; returns how many files parsed."""
    import yaml

    parsed = 0
    for path in corpus_files(corpus):
        try:
            for _ in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader):
                pass
        except (yaml.YAMLError, ValueError, RecursionError):
            continue
        parsed += 1
    return parsed


def run_cli(command: str, tree: Path) -> int:
    from workers.cli.main import main

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        return main([command, str(tree)])


def phase_work(phase: str, tree: Path) -> Callable[[], int]:
    if phase == "parse":
        return lambda: parse_all(tree)
    return lambda: run_cli(phase, tree)


def child_main(phase: str, tree: Path) -> None:
    """Runs in the fresh process: import first, then time only the work."""
    import yaml  # noqa: F401  (imported before timing, like the CLI's modules below)

    import workers.cli.main  # noqa: F401

    work = phase_work(phase, tree)
    start = time.perf_counter()
    outcome = work()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "outcome": outcome}))


# --- the parent: fresh processes, medians, the table ------------------------------------------


def measure(phase: str, tree: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, outcome) of one run of `phase` in a fresh process."""
    command = [sys.executable, __file__, "--child", phase, str(tree)]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, cwd=REPOSITORY)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"{phase}: the benchmark process failed ({process.returncode})")
        output.seek(0)
        report = json.loads(output.read().decode().strip().splitlines()[-1])
    return float(report["seconds"]), usage.ru_maxrss / 1024, int(report["outcome"])


def run_phase(phase: str, corpus: Path, repeat: int, scratch: Path) -> Result:
    seconds: list[float] = []
    peak = 0.0
    outcomes: set[int] = set()
    for _ in range(repeat):
        tree = corpus
        if phase == "fix":  # a fresh copy each time, made before the clock starts
            tree = scratch / "copy"
            shutil.rmtree(tree, ignore_errors=True)
            shutil.copytree(corpus, tree, symlinks=True)
        elapsed, rss, outcome = measure(phase, tree)
        seconds.append(elapsed)
        peak = max(peak, rss)
        outcomes.add(outcome)
    return Result(phase, seconds, peak, _note(phase, outcomes))


def _note(phase: str, outcomes: set[int]) -> str:
    if phase == "parse":
        return ", ".join(f"{count} files parsed" for count in sorted(outcomes))
    meaning = {"check": "findings", "fix": "files changed"}[phase]
    return f"exit 1: {meaning}" if outcomes == {1} else f"exit codes {sorted(outcomes)}"


def run_checkov(corpus: Path, repeat: int) -> Result | None:
    executable = shutil.which("checkov")
    if executable is None:
        return None
    seconds: list[float] = []
    peak = 0.0
    for _ in range(repeat):
        command = [executable, "-d", str(corpus), *CHECKOV_ARGS]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(process.pid, 0)
        seconds.append(time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss / 1024)
    return Result("checkov CKV_K8S_15", seconds, peak, "external process, startup included")


def warm_up(corpus: Path) -> str:
    """Read every file once, so that no phase pays for a cold page cache; describe the corpus."""
    files = list(corpus_files(corpus))
    size = sum(len(path.read_bytes()) for path in files) / 1e6
    return f"corpus: {corpus} ({len(files)} YAML/JSON files, {size:.1f} MB)"


def table(results: list[Result]) -> str:
    baseline = results[0].median
    lines = [
        f"{'phase':<20}{'median s':>10}{'runs (s)':>24}{'x parse':>10}{'peak RSS MB':>14}  note",
    ]
    for result in results:
        runs = " ".join(f"{s:.2f}" for s in result.seconds)
        ratio = result.median / baseline
        lines.append(
            f"{result.phase:<20}{result.median:>10.2f}{runs:>24}{ratio:>10.2f}"
            f"{result.peak_rss_mb:>14.0f}  {result.note}"
        )
    return "\n".join(lines)


def verdicts(results: dict[str, Result]) -> list[str]:
    parse = results["parse"].median
    rows = [
        ("check <= 0.5x parse", results["check"].median / parse, CHECK_TARGET, "x"),
        ("fix <= 1x parse", results["fix"].median / parse, FIX_TARGET, "x"),
        ("check peak RSS <= 200 MB", results["check"].peak_rss_mb, RSS_TARGET_MB, " MB"),
        ("fix peak RSS <= 200 MB", results["fix"].peak_rss_mb, RSS_TARGET_MB, " MB"),
    ]
    return [
        f"  {name:<28}{value:>8.2f}{unit:<4} {'PASS' if value <= target else 'MISS'}"
        for name, value, target, unit in rows
    ]


def profile(phase: str, corpus: Path, scratch: Path) -> None:
    tree = corpus
    if phase == "fix":
        tree = scratch / "copy"
        shutil.copytree(corpus, tree, symlinks=True)
    work = phase_work(phase, tree)
    profiler = cProfile.Profile()
    profiler.runcall(work)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase (median)")
    parser.add_argument("--profile", choices=("check", "fix", "parse"), help="profile one phase")
    parser.add_argument("--child", nargs=2, metavar=("PHASE", "TREE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPOSITORY))
    if args.child:
        child_main(args.child[0], Path(args.child[1]))
        return 0
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pullpolicy-bench-") as scratch:
        if args.profile:
            profile(args.profile, corpus, Path(scratch))
            return 0
        print(warm_up(corpus))
        print(f"each phase: {args.repeat} runs in fresh processes; median time, largest RSS\n")
        results = {phase: run_phase(phase, corpus, args.repeat, Path(scratch)) for phase in PHASES}
    rows = list(results.values())
    checkov = run_checkov(corpus, args.repeat)
    if checkov is not None:
        rows.append(checkov)
    print(table(rows))
    if checkov is None:
        print("checkov: not installed (pip install checkov, then rerun to compare CKV_K8S_15)")
    print("\ntargets:")
    print("\n".join(verdicts(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
