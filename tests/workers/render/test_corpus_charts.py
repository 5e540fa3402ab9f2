"""Every corpus chart rendered with Helm before and after the chart fix (../shared/corpus).

A chart that renders must have no container left that is not Always after the fix, its
objects otherwise unchanged (`difference` is None), and its sources changed only in pull-policy
lines. Charts Helm refuses are listed with Helm's reason. Run with `-s` for the counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import chart_source_problems, helm_chart_roots, require_corpus
from workers.config.model import Config
from workers.core.charts import check_chart
from workers.core.renders import difference, rendered_findings
from workers.core.volatile import Volatile
from workers.render.helm import HelmEngine

pytestmark = pytest.mark.corpus


def _files(corpus: Path, root: str) -> dict[str, bytes]:
    return {
        path.relative_to(corpus).as_posix(): path.read_bytes()
        for path in sorted((corpus / root).rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def _top_level(roots: list[str]) -> list[str]:
    """Charts not unpacked inside another listed chart (those render with their parent)."""
    return [r for r in roots if not any(r.startswith(o + "/") for o in roots if o != r)]


def test_every_rendered_chart_is_all_always_after_the_fix(engine: HelmEngine) -> None:
    corpus = require_corpus()
    config = Config()
    before_total = after_total = 0
    refused: dict[str, str] = {}
    failures: list[str] = []
    for root in _top_level(helm_chart_roots(corpus)):
        files = _files(corpus, root)
        result = check_chart(root, sorted(files), files.__getitem__, engine, config, fix=True)
        if not result.rendered:
            refused[root] = result.verification.reason or "?"
            continue
        fixed = dict(files)
        for report in result.reports:
            if report.fixed is not None:
                problems = chart_source_problems(files[report.path], report.fixed)
                failures.extend(f"{report.path}: {problem}" for problem in problems)
                fixed[report.path] = report.fixed
        original = engine(files, root)
        after = engine(fixed, root)
        before_total += len(rendered_findings(original, config))
        left = rendered_findings(after, config)
        after_total += len(left)
        failures.extend(f"{root}: {f.kind}/{f.name} {f.container!r} not Always" for f in left)
        if result.verification.verified and result.verification.before:
            # The render with the fix equals the verified one: nothing but pull policies moved.
            assert result.verification.after == len(left), root
        if not result.verification.verified:
            failures.append(f"{root}: not verified: {result.verification.reason}")
            continue
        # Objects otherwise unchanged: blind to pull policies (keys, env vars, policy lines in
        # rendered text) and to what varies by itself between two renders.
        volatile = Volatile(original, engine(files, root))
        old, new = (volatile.mask(r) for r in (original, after))
        changed = difference(old, new, config)
        if changed is not None:
            failures.append(f"{root}: {changed}")
    print(
        f"\nrendered charts: {before_total} non-Always containers before the fix,"
        f" {after_total} after"
    )
    for root, reason in sorted(refused.items()):
        print(f"not rendered: {root}: {reason}")
    assert refused or before_total, "no chart rendered: the corpus or the engine is broken"
    assert failures == []
