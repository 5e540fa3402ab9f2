"""Path globs: the semantics of the former regex translation, in time linear in the path."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.core.globs import Glob, glob_match


def reference(pattern: str) -> re.Pattern[str]:
    """The regex translation the globs used to run on (backtracking: small inputs only)."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.yaml", "a.yaml", True),
        ("**/*.yaml", "deep/er/a.yaml", True),
        ("**/*.yaml", "a.yml", False),
        ("deploy/*.yaml", "deploy/x/a.yaml", False),
        ("deploy/**", "deploy/x/a.yaml", True),
        ("**/test/**", "src/test/a.yaml", True),
        ("**/test/**", "src/testing/a.yaml", False),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("a.b", "aXb", False),  # no regex meaning leaks through
        ("", "", True),
        ("", "a", False),
    ],
)
def test_examples(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


PATTERN_PARTS = st.sampled_from(["**/", "**", "*", "?", "a", "b", "/", ".", "\n"])
PATH_CHARS = st.sampled_from(["a", "b", "/", ".", "\n"])


@given(
    st.lists(PATTERN_PARTS, max_size=8).map("".join),
    st.lists(PATH_CHARS, max_size=10).map("".join),
)
def test_same_answers_as_the_former_regex(pattern: str, path: str) -> None:
    assert glob_match(pattern, path) is (reference(pattern).match(path) is not None)


def test_repeated_double_stars_cost_linear_work_on_a_deep_path() -> None:
    # The regex translation took 24 s for ten `**/` and never finished for fourteen.
    path = "/".join(f"d{i}" for i in range(30)) + "/file.txt"
    for repeats in (10, 14, 40):
        glob = Glob("**/" * repeats + "*.yaml")
        assert glob.match(path) is False
        tokens = repeats + 2
        # Each character visits each state (at most two per token) a bounded number of times.
        assert glob.operations <= 4 * (tokens + 1) * (len(path) + 1)


def test_nested_stars_within_a_name_cost_linear_work() -> None:
    name = "a" * 200
    glob = Glob("*a" * 30 + "b")
    assert glob.match(name) is False
    assert glob.operations <= 4 * 62 * (len(name) + 1)
