"""Every kustomization of the corpus, rendered with kubectl before and after the fixes: plain
manifest fixes over every file, then the kustomize fixes. Each one that renders must have no
non-Always container left, render otherwise unchanged, and every fixed file may differ only in
pull-policy lines. Run with `-s` for the counts and for why the others do not render.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.corpus import require_corpus, unexpected_changes
from tests.render_cache import CachedRender
from workers.config.model import Config
from workers.core.kustomizations import BadKustomization, closure, kustomization_dirs
from workers.core.manifest import check_manifest
from workers.core.overlays import check_kustomizations
from workers.render import kustomize

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def corpus_files(corpus: Path) -> dict[str, bytes]:
    return {
        path.relative_to(corpus).as_posix(): path.read_bytes()
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@pytest.mark.corpus
@pytest.mark.timeout(1800)
def test_every_rendering_kustomization_is_all_always_after_the_fixes_and_otherwise_unchanged() -> (
    None
):
    corpus = require_corpus()
    if not kustomize.available():
        pytest.skip("kubectl is not installed (kubectl kustomize renders kustomizations)")
    original = corpus_files(corpus)
    config = Config()
    current = dict(original)
    for path, data in original.items():
        if path.endswith(MANIFEST_SUFFIXES):
            report = check_manifest(path, data, config, fix=True)
            if report.fixed is not None:
                current[path] = report.fixed
    render = CachedRender(kustomize.render)
    _warm(render, original, current)

    reports, verifications = check_kustomizations(
        sorted(original), current.__getitem__, original.__getitem__, render, config, fix=True
    )

    rendered = [v for v in verifications if v.verified]
    not_rendered = [v for v in verifications if not v.verified]
    print(
        f"\n{len(verifications)} kustomizations, {len(rendered)} render; non-Always containers "
        f"before {sum(v.before for v in rendered)}, after {sum(v.after for v in rendered)}; "
        f"{sum(len(r.findings) for r in reports)} findings at patches, "
        f"{sum(r.fixed is not None for r in reports)} files fixed; {render.calls} renders"
    )
    reasons = Counter(_gist(v.reason) for v in not_rendered)
    for reason, count in reasons.most_common():
        print(f"  {count:4} not verified: {reason}")
    assert len(rendered) > len(verifications) // 2
    assert [(v.root, v.after, v.reason) for v in rendered if v.after or v.reason] == []
    # A kustomization that rendered from the original files renders after the fixes too.
    assert [v.root for v in not_rendered if v.reason and "after the fix" in v.reason] == []
    assert sum(v.before for v in rendered) > 0
    for report in reports:
        assert report.unfixable == (), report.path
        if report.fixed is not None:
            old, new = current[report.path].decode(), report.fixed.decode()
            assert unexpected_changes(old, new) == [], report.path


def _warm(
    render: CachedRender, original: Mapping[str, bytes], current: Mapping[str, bytes]
) -> None:
    """Render every kustomization's original and current files ahead, one per core."""
    paths = frozenset(original)
    jobs: list[tuple[dict[str, bytes], str]] = []
    for root in kustomization_dirs(paths):
        try:
            plan = closure(root, paths, current.__getitem__)
        except BadKustomization:
            continue
        if plan.remote:
            continue
        for files in (original, current):
            jobs.append(({path: files[path] for path in plan.all_files if path in files}, root))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(lambda job: render.warm(*job), jobs))


def _gist(reason: str | None) -> str:
    """The kind of failure, without the object names that make every message unique."""
    text = (reason or "").replace("does not render: ", "")
    for cut in (' \\"', ' "', "'", ":"):
        if cut in text[12:]:
            text = text[: 12 + text[12:].index(cut)]
            break
    return text[:70]
