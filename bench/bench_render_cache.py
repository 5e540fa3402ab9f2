"""What the bot pays to scan again after a push touching one chart, as a ratio to rendering
every chart and kustomization (not a test; run it directly).

    .venv/bin/python bench/bench_render_cache.py [TREE] [--chart ROOT]

TREE (default: the corpus's istio__istio, 10 charts) is seeded into a repository on the local
fake forge (GitLab adapter); one worker (one adapter, one report cache, as a running worker
keeps them) scans it (`dry_run`: nothing written), then a push appends a comment line to one
chart's values.yaml (the first chart, or `--chart`) and the same worker scans again. The
baseline is the same rescan by a worker with an empty cache: a full render. Renders are counted
at the engines (Helm's `HelmEngine.__call__`, `kustomize.render`); CPU time is this process's
plus every child's it waited for (Helm's engine process, each kubectl), so neighbours on a
shared machine do not count. Nothing asserts: see bench/README.md.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.fakeforge import FakeForge  # noqa: E402
from workers.forge.gitlab import GitLabForge  # noqa: E402
from workers.jobs import ScanJob  # noqa: E402
from workers.render import helm, kustomize  # noqa: E402
from workers.scan import run as scan  # noqa: E402
from workers.scan.localfs import LocalTree  # noqa: E402
from workers.scan.report_cache import ReportCache  # noqa: E402

TOKEN, REPO = "glpat-bench", "bench/charts"
DEFAULT_TREE = REPO_ROOT / ".." / "shared" / "corpus" / "istio__istio"
RENDERS: Counter[str] = Counter()


def count_renders() -> None:
    helm_render = helm.HelmEngine.__call__
    kustomize_render = kustomize.render

    def render_chart(self: helm.HelmEngine, files: Mapping[str, bytes], root: str) -> Any:
        RENDERS["helm"] += 1
        return helm_render(self, files, root)

    def render_kustomization(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        RENDERS["kustomize"] += 1
        return kustomize_render(files, root)

    helm.HelmEngine.__call__ = render_chart  # type: ignore[method-assign]
    kustomize.render = render_kustomization


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(forge: GitLabForge, cache: ReportCache) -> tuple[int, float, float, str]:
    """(renders, CPU seconds, wall seconds, outcome) of one scan."""
    job = ScanJob(forge="gitlab", repo=REPO, reason="push", installation_id=None)
    RENDERS.clear()
    start_cpu, start = cpu(), time.perf_counter()
    outcome = scan.run(forge, job, cache=cache, dry_run=True)
    return sum(RENDERS.values()), cpu() - start_cpu, time.perf_counter() - start, outcome.action


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tree", nargs="?", type=Path, default=DEFAULT_TREE)
    parser.add_argument("--chart", help="the chart the push touches (its directory)")
    options = parser.parse_args()
    if not helm.available():
        raise SystemExit("helm-python-sdk is not installed (the `render` extra)")
    tree = LocalTree(options.tree.resolve())
    files = {path: tree.read(path) for path in tree.paths()}
    charts = sorted(
        p.removesuffix("Chart.yaml").rstrip("/") for p in files if p.endswith("Chart.yaml")
    )
    chart = options.chart if options.chart is not None else charts[0]
    values = f"{chart}/values.yaml" if chart else "values.yaml"
    if values not in files:
        raise SystemExit(f"{values} is not in the tree")
    count_renders()
    with tempfile.TemporaryDirectory() as tmp, FakeForge(Path(tmp) / "forge") as fake:
        fake.add_token(TOKEN)
        fake.create_repo(REPO, files)

        def adapter() -> GitLabForge:
            return GitLabForge(url=fake.gitlab_url, token=TOKEN, retry_transient_errors=False)

        worker, cache = adapter(), ReportCache()
        first = measure(worker, cache)
        push = {values: files[values] + b"\n# touched by the benchmark\n"}
        fake.push_commit(REPO, "main", push, "touch one chart")
        again = measure(worker, cache)
        full = measure(adapter(), ReportCache())
    print(f"{options.tree.name}/: {len(charts)} chart(s); the push touches {values}")
    print(f"{'scan':44} {'renders':>7} {'CPU s':>7} {'wall s':>7}")
    for label, row in (
        ("first scan, empty cache", first),
        ("rescan after the push, same worker", again),
        ("rescan after the push, empty cache (baseline)", full),
    ):
        print(f"{label:44} {row[0]:7d} {row[1]:7.1f} {row[2]:7.1f}")
    print(
        f"rescan after a one-chart push: {again[0] / max(full[0], 1):.2f}x the renders, "
        f"{again[1] / max(full[1], 1e-9):.2f}x the CPU of a full render"
    )


if __name__ == "__main__":
    main()
