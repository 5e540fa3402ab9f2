"""The worker's cache: renders are bounded by the size of their text, oldest dropped first."""

from __future__ import annotations

from workers.scan.report_cache import ReportCache, files_digest


def test_renders_are_bounded_by_their_size_least_recently_used_first() -> None:
    cache = ReportCache(max_render_bytes=30)
    cache.put_render(("v", "a", "1"), {"a": "x" * 9})  # 10 bytes with its name
    cache.put_render(("v", "b", "1"), {"b": "x" * 9})
    assert cache.get_render(("v", "a", "1")) is not None  # a is now the most recent
    cache.put_render(("v", "c", "1"), {"c": "x" * 19})  # 20 bytes: b must go, not a
    assert cache.get_render(("v", "b", "1")) is None
    assert cache.get_render(("v", "a", "1")) == {"a": "x" * 9}
    assert cache.get_render(("v", "c", "1")) is not None
    cache.put_render(("v", "d", "1"), {"d": "x" * 40})  # larger than the whole budget: not kept
    assert cache.get_render(("v", "d", "1")) is None
    assert cache.get_render(("v", "c", "1")) is not None


def test_a_files_digest_changes_with_any_byte_or_path() -> None:
    files = {"k/kustomization.yaml": b"resources: [a.yaml]\n", "k/a.yaml": b"kind: Pod\n"}
    assert files_digest(files) == files_digest(dict(reversed(files.items())))
    assert files_digest(files) != files_digest({**files, "k/a.yaml": b"kind: Pod \n"})
    renamed = {"k/kustomization.yaml": files["k/kustomization.yaml"], "k/b.yaml": b"kind: Pod\n"}
    assert files_digest(files) != files_digest(renamed)
