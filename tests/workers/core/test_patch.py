"""Byte-minimal edits (workers/core/patch.py): where each edit lands and what it writes.

The golden files (test_fidelity.py) cover whole files; these cases pin the branches that the
golden set leaves open, found by mutation testing (docs/mutation.md).
"""

from __future__ import annotations

import pytest

from workers.config.model import Config
from workers.core.manifest import check_manifest
from workers.core.patch import Edit, Unfixable, apply, is_json, line_ending


def _fixed(text: str, path: str = "pod.yaml") -> str:
    report = check_manifest(path, text.encode(), Config(), fix=True)
    assert report.skipped is None, report.skipped
    assert report.fixed is not None
    return report.fixed.decode()


def test_line_endings() -> None:
    assert line_ending("a: 1\r\nb: 2\n") == "\r\n"
    assert line_ending("a: 1\nb: 2\r\n") == "\n"
    assert line_ending("\na: 1\r\n") == "\n"  # an empty first line says nothing: LF
    assert line_ending("a: 1") == "\n"


def test_json_is_known_by_name_or_first_character() -> None:
    assert is_json("k8s/POD.JSON", "a: 1")
    assert is_json("pod.yaml", '  {"a": 1}')
    assert is_json("pod.yaml", "[1]")
    assert not is_json("pod.yaml", "a: {b: 1}")


def test_edits_apply_in_order_and_overlaps_are_refused() -> None:
    assert apply("abcdef", [Edit(4, 5, "E"), Edit(0, 1, "A"), Edit(2, 2, "+")]) == "Ab+cdEf"
    assert apply("abc", [Edit(1, 2, "B"), Edit(1, 2, "B")]) == "aBc"  # the same edit once
    with pytest.raises(Unfixable):
        apply("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    with pytest.raises(Unfixable):
        apply("abcdef", [Edit(1, 1, "x"), Edit(1, 2, "y")])  # two edits at one offset
