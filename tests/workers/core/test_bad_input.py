"""Hostile or broken files are skipped with a reason: never a crash, never a partial patch."""

from __future__ import annotations

import pytest

from workers.config.model import Config
from workers.core.manifest import check_manifest

POD = (
    b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
    b"spec:\n  containers:\n  - {name: a, image: a:1}\n"
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (POD + b"# caf\xe9\n", "not valid UTF-8"),
        (POD + b"\x00\x01\x02", "binary content"),
        (POD + b"spec: {}\n", "duplicate key 'spec'"),
        (POD + b"  - [unclosed\n", "not valid YAML at line 8"),
        (b"a: &a [*a]\ncontainers: []\n", "recursive alias"),
        (b"apiVersion: v1\nkind: Pod\ncontainers: " + b"[" * 100_000 + b"]" * 100_000, "nesting"),
        (b"kind: Pod\ncontainers:\n" + b"- " * 50_000 + b"x\n", "nesting"),
    ],
)
def test_skipped_with_reason(data: bytes, reason: str) -> None:
    report = check_manifest("bad.yaml", data, Config(), fix=True)
    assert report.skipped is not None and reason in report.skipped
    assert report.fixed is None and report.findings == ()


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    data = ("\n".join(lines) + "\ncontainers: []\n").encode()
    report = check_manifest("bomb.yaml", data, Config(), fix=True)
    assert report.skipped is not None and "alias" in report.skipped


def test_helm_template_outside_a_chart_is_skipped_not_crashed() -> None:
    data = (
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  {{- range .Values.c }}\n  - image: x\n"
    )
    report = check_manifest("t.yaml", data, Config(), fix=True)
    assert report.skipped is not None and report.skipped.startswith("not valid YAML")


def test_curly_braces_inside_strings_are_scanned() -> None:
    data = POD.replace(b"name: p}", b"name: p, annotations: {t: '{{ not a template }}'}}")
    report = check_manifest("m.yaml", data, Config(), fix=True)
    assert report.skipped is None and len(report.findings) == 1 and report.fixed is not None


def test_files_without_containers_are_not_parsed() -> None:
    report = check_manifest("x.yaml", b"{{ this is not yaml\n", Config(), fix=True)
    assert report.skipped is None and report.findings == ()


def test_check_skips_what_fix_would_refuse() -> None:
    data = POD.replace(b"metadata: {name: p}", b"metadata: {name: p, labels: {a: '1', a: '2'}}")
    checked = check_manifest("dup.yaml", data, Config())
    fixed = check_manifest("dup.yaml", data, Config(), fix=True)
    assert checked.skipped == fixed.skipped == "duplicate key 'a' at line 3"
    assert checked.findings == fixed.findings == () and fixed.fixed is None
