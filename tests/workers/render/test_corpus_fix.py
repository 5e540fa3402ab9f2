"""`pullpolicy fix` over a copy of the corpus (../shared/corpus), then every chart and
kustomization of the fixed copy rendered with the real engines: each one that renders has no
container left that is not Always, renders otherwise unchanged, and every changed file differs
only in pull-policy lines. The issue's "Done means"; run with `-s` for the counts.

Kustomize renders are memoised on their exact files (tests/render_cache.py): the test's own
render of a fixed kustomization is usually the fix's last verification render, made once.
Helm's are not: a chart's fix renders it twice to tell what varies by itself (random names).
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.corpus import (
    chart_source_problems,
    helm_chart_roots,
    require_corpus,
    unexpected_changes,
)
from tests.render_cache import CachedRender
from workers.cli.main import main
from workers.config.model import Config
from workers.core.kustomizations import BadKustomization, closure, kustomization_dirs
from workers.core.renders import Render, RenderFailed, difference, rendered_findings
from workers.core.volatile import Volatile
from workers.render import helm, kustomize
from workers.render.helm import HelmEngine

pytestmark = pytest.mark.corpus


def tree_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@pytest.mark.timeout(1800)
def test_fix_leaves_every_chart_and_kustomization_all_always_and_otherwise_unchanged(
    engine: HelmEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = require_corpus()
    if not kustomize.available():
        pytest.skip("kubectl is not installed (kubectl kustomize renders kustomizations)")
    copy = tmp_path / "corpus"
    shutil.copytree(corpus, copy, symlinks=True)
    original = tree_files(corpus)
    config = Config()
    render_kustomization = CachedRender(kustomize.render)
    kustomizations = _kustomization_files(original)
    _warm(render_kustomization, [(files, root) for root, files in kustomizations.items()])

    @contextmanager
    def session_helm() -> Iterator[Render]:
        yield engine  # never memoised: a chart's fix renders twice to find what varies

    monkeypatch.setattr(helm, "HelmEngine", session_helm)
    monkeypatch.setattr(kustomize, "render", render_kustomization)
    main(["fix", str(copy)])
    out = capsys.readouterr().out
    fixed = tree_files(copy)
    assert sorted(fixed) == sorted(original)

    failures: list[str] = []
    chart_dirs = {posixpath.dirname(p) for p in original if posixpath.basename(p) == "Chart.yaml"}
    changed = [path for path in original if fixed[path] != original[path]]
    for path in changed:
        in_chart = any(path.startswith(root + "/") for root in chart_dirs)
        if in_chart:
            problems = chart_source_problems(original[path], fixed[path])
        else:
            problems = unexpected_changes(original[path].decode(), fixed[path].decode())
        failures.extend(f"{path}: {problem}" for problem in problems)

    counts = {"kustomization": [0, 0, 0], "chart": [0, 0, 0]}  # rendered, before, after
    after_jobs = [
        ({path: fixed[path] for path in files}, root) for root, files in kustomizations.items()
    ]
    _warm(render_kustomization, after_jobs)
    for (root, files), (after_files, _) in zip(kustomizations.items(), after_jobs, strict=True):
        failures.extend(
            _compare(
                render_kustomization, files, after_files, root, config, counts["kustomization"]
            )
        )
    for root in _top_level(helm_chart_roots(corpus)):
        files = {p: data for p, data in original.items() if p.startswith(root + "/")}
        after_files = {p: fixed[p] for p in files}
        again = _render_or_none(engine, files, root)  # what varies between two renders
        failures.extend(_compare(engine, files, after_files, root, config, counts["chart"], again))

    for kind, (rendered, before, after) in counts.items():
        print(f"\n{rendered} {kind}s render: non-Always containers {before} before, {after} after")
    print(f"{len(changed)} files changed; fix said: {out.strip().splitlines()[-1]}")
    assert counts["kustomization"][0] and counts["chart"][0]
    assert counts["kustomization"][1] + counts["chart"][1] > 0
    assert failures == []


def _compare(
    render: Render,
    before_files: Mapping[str, bytes],
    after_files: Mapping[str, bytes],
    root: str,
    config: Config,
    counts: list[int],
    again: Mapping[str, str] | None = None,
) -> list[str]:
    """Render both; count, and say what is wrong: a container left, anything else changed."""
    try:
        before = render(before_files, root)
    except RenderFailed:
        return []  # not renderable before the fix: nothing to verify
    try:
        after = render(after_files, root)
    except RenderFailed as error:
        return [f"{root}: rendered before the fix, not after: {error}"]
    left = rendered_findings(after, config)
    counts[0] += 1
    counts[1] += len(rendered_findings(before, config))
    counts[2] += len(left)
    problems = [f"{root}: {f.kind}/{f.name} {f.container!r} not Always" for f in left]
    if again is not None:
        volatile = Volatile(before, again)
        before, after = (volatile.mask(r) for r in (before, after))
    changed = difference(before, after, config)
    if changed is not None:
        problems.append(f"{root}: {changed}")
    return problems


def _kustomization_files(files: Mapping[str, bytes]) -> dict[str, dict[str, bytes]]:
    """Each local kustomization's closure, as it reads it."""
    paths = frozenset(files)
    found: dict[str, dict[str, bytes]] = {}
    for root in kustomization_dirs(paths):
        try:
            plan = closure(root, paths, files.__getitem__)
        except BadKustomization:
            continue
        if not plan.remote:
            found[root] = {path: files[path] for path in plan.all_files if path in files}
    return found


def _warm(render: CachedRender, jobs: list[tuple[dict[str, bytes], str]]) -> None:
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(lambda job: render.warm(*job), jobs))


def _top_level(roots: list[str]) -> list[str]:
    """Charts not unpacked inside another listed chart (those render with their parent)."""
    return [r for r in roots if not any(r.startswith(o + "/") for o in roots if o != r)]


def _render_or_none(render: Render, files: Mapping[str, bytes], root: str) -> Mapping[str, str]:
    try:
        return render(files, root)
    except RenderFailed:
        return {}
