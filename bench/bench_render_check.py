"""What rendering costs `pullpolicy check` over the corpus: the same command with the engines
(Helm for charts, kubectl kustomize for kustomizations) and without them (the baseline).

    .venv/bin/python bench/bench_render_check.py [CORPUS] [--repeat N]

Each run is a fresh process running `pullpolicy check CORPUS` through the CLI entry point,
output discarded. Without rendering, the process is told the engines are absent (Helm's extra
not importable, no kubectl), exactly as on a machine without them: charts' values are checked
as text and kustomizations are not rendered. CPU time is the process's and every child's it
waited for (the Helm engine's process, each kubectl), from `os.wait4`, so neighbours on a
shared machine do not count; wall time is printed too. Nothing asserts: see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPOSITORY / ".." / "shared" / "corpus"
# Runs in the child: the engines made unavailable, or left alone, then `pullpolicy check`.
CHILD = """
import sys
if sys.argv[1] == "off":
    from workers.render import helm, kustomize
    helm.available = lambda: False
    kustomize.kubectl = lambda: None
from workers.cli.main import main
sys.exit(main(["check", sys.argv[2]]))
"""


def run(mode: str, corpus: Path) -> tuple[float, float]:
    """(CPU seconds with waited-for children, wall seconds) of one check."""
    command = [sys.executable, "-c", CHILD, mode, str(corpus)]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPOSITORY
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"pullpolicy check ({mode}) failed: {status}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    corpus = options.corpus.resolve()
    results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    for _ in range(options.repeat):
        for mode in results:
            results[mode].append(run(mode, corpus))
    cpu = {mode: statistics.median(c for c, _ in runs) for mode, runs in results.items()}
    wall = {mode: statistics.median(w for _, w in runs) for mode, runs in results.items()}
    print(f"pullpolicy check {corpus.name}/, median of {options.repeat} run(s) each")
    print(f"without rendering (baseline): {cpu['off']:8.1f} s CPU, {wall['off']:8.1f} s wall")
    print(f"with Helm and kubectl:        {cpu['on']:8.1f} s CPU, {wall['on']:8.1f} s wall")
    print(f"rendering costs {cpu['on'] / max(cpu['off'], 1e-9):.1f}x the check without it (CPU)")


if __name__ == "__main__":
    main()
