"""Path globs: the semantics of the former regex translation, in time linear in the path."""

from __future__ import annotations

import random
import re
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.core import globs
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


@given(
    st.lists(PATTERN_PARTS, max_size=8).map("".join),
    st.lists(PATH_CHARS, max_size=10).map("".join),
)
def test_same_answers_when_the_cache_of_states_is_full(pattern: str, path: str) -> None:
    # With no room, every new set of states is computed and dropped (the hostile-pattern path).
    with mock.patch.object(globs, "_STATE_CACHE_BYTES", 0):
        glob = Glob(pattern)
        answers = [glob.match(path), glob.match(path)]
    expected = reference(pattern).match(path) is not None
    assert answers == [expected, expected]


def test_repeated_double_stars_cost_linear_work_on_a_deep_path() -> None:
    # The regex translation took 24 s for ten `**/` and never finished for fourteen.
    path = "/".join(f"d{i}" for i in range(30)) + "/file.txt"
    for repeats in (10, 14, 40):
        glob = Glob("**/" * repeats + "*.yaml")
        assert glob.match(path) is False
        # At most one automaton step per character (each a fixed number of mask operations).
        assert glob.operations <= len(path)


def test_nested_stars_within_a_name_cost_linear_work() -> None:
    name = "a" * 200
    glob = Glob("*a" * 30 + "b")
    assert glob.match(name) is False
    assert glob.operations <= len(name)


MB = 1024 * 1024
# Patterns a hostile `.pullpolicy.yml` may hold (each within the model's 256 characters).
ADVERSARIAL_PATTERNS = [
    "**a" + "?" * 250 + "x",  # a lazy DFA's subsets explode: ~17 MB for this one pattern
    "**/a" + "?" * 250 + "x",
    "*a" + "?" * 252 + "x",
    "*?" * 128,
    "**/" * 85 + "x",
    "**" + "a*" * 127,
    "*" + "".join(chr(0x100 + i) for i in range(254)) + "*",  # many distinct literals
]


def hostile_path(length: int) -> str:
    """Random `a`/`b`, ending in `x`: against `**a???...`, nearly every character leads to a
    set of states never seen before."""
    rng = random.Random(length)
    return "".join(rng.choice("ab") for _ in range(length)) + "x"


@contextmanager
def traced_peak() -> Iterator[list[int]]:
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
        peak.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("pattern", ADVERSARIAL_PATTERNS)
def test_hostile_patterns_use_bounded_memory_and_steps(pattern: str) -> None:
    paths = [hostile_path(n) for n in (300, 2000)] + ["a" * 2000 + "x", "a/b" * 700]
    with traced_peak() as peak:
        glob = Glob(pattern)
        for path in paths:
            before = glob.operations
            glob.match(path)
            # One step per character at most: O(len(path) * len(pattern)) work in all.
            assert glob.operations - before <= len(path)
    assert peak[0] < 256 * 1024


def test_hostile_pattern_still_matches_exactly() -> None:
    glob = Glob("**a" + "?" * 250 + "x")
    assert glob.match("b" * 10 + "a" + "c" * 250 + "x") is True
    assert glob.match("b" * 10 + "a" + "c" * 249 + "x") is False
    assert glob.match("b" * 10 + "a" + "c" * 249 + "/x") is False


def test_the_glob_cache_is_bounded_by_total_size_not_entries() -> None:
    globs._cache.clear()
    with traced_peak() as peak:
        for k in range(400):  # far more large patterns than any config holds
            literals = "".join(chr(0x100 + 300 * k + i) for i in range(254))
            glob_match("*" + literals + "*", literals[:100])
            glob_match("**a" + "?" * 250 + str(k), hostile_path(300))
        retained = tracemalloc.get_traced_memory()[0]
    assert retained < 8 * MB
    assert peak[0] < 10 * MB
    assert globs._cache.used_chars <= globs._cache.budget_chars
    # The most recent patterns are still cached: a config's globs are compiled once per scan.
    assert globs.compile_glob("**a" + "?" * 250 + "399") is globs.compile_glob(
        "**a" + "?" * 250 + "399"
    )
    globs._cache.clear()
