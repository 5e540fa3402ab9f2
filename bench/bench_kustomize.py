"""What rendering the corpus's kustomizations costs, against checking their files without it.

    .venv/bin/python bench/bench_kustomize.py [CORPUS]

For every kustomization without a remote base: its closure's files are checked as plain
manifests (`check_manifest`, **the baseline**), then rendered once with `kubectl kustomize`
(workers/render/kustomize.py: temporary directory, subprocess). CPU time is the process's own
for the baseline and kubectl's (children) for the renders, so neighbours on a shared machine do
not count; wall time per render is printed too. Nothing asserts: see bench/README.md.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

from workers.config.model import Config
from workers.core.kustomizations import BadKustomization, closure, kustomization_dirs
from workers.core.manifest import check_manifest
from workers.core.renders import RenderFailed
from workers.render import kustomize

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS.resolve()
    files = {
        path.relative_to(corpus).as_posix(): path.read_bytes()
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }
    paths = frozenset(files)
    config = Config()
    jobs = []
    for root in kustomization_dirs(paths):
        try:
            plan = closure(root, paths, files.__getitem__)
        except BadKustomization:
            continue
        if not plan.remote:
            jobs.append(plan)
    check_cpu = 0.0
    for plan in jobs:
        start = time.process_time()
        for path in plan.all_files:
            check_manifest(path, files[path], config)
        check_cpu += time.process_time() - start
    walls: list[float] = []
    failed = 0
    cpu_before = children_cpu()
    for plan in jobs:
        given = {path: files[path] for path in plan.all_files}
        start = time.perf_counter()
        try:
            kustomize.render(given, plan.root)
        except RenderFailed:
            failed += 1
        walls.append(time.perf_counter() - start)
    render_cpu = children_cpu() - cpu_before
    print(f"{len(jobs)} kustomizations without remote bases ({failed} do not render)")
    print(f"check their files (baseline): {check_cpu:8.2f} s CPU")
    print(
        f"render them with kubectl:     {render_cpu:8.2f} s CPU (kubectl), "
        f"{render_cpu / max(check_cpu, 1e-9):.1f}x the baseline"
    )
    print(
        f"per render: {render_cpu / len(jobs) * 1000:.0f} ms CPU, wall median "
        f"{statistics.median(walls) * 1000:.0f} ms, max {max(walls) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
