"""Golden files: compare rendered text with a committed file, and rewrite it only on request.

`UPDATE_GOLDEN=1` rewrites a golden file that differs, then fails the test anyway, so that a run
which rewrote anything can never pass: review `git diff`, then run again without it. Under CI
(`CI` or `REQUIRE_ALL_TESTS` set) it refuses to rewrite at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UPDATE_VARIABLE = "UPDATE_GOLDEN"
CI_VARIABLES = ("CI", "REQUIRE_ALL_TESTS")


def _set(name: str) -> bool:
    return os.environ.get(name, "").lower() not in ("", "0", "false")


def assert_matches_golden(path: Path, text: str) -> None:
    """Fail unless `text` is exactly the committed golden file at `path`."""
    current = path.read_bytes().decode("utf-8") if path.is_file() else None  # exact line ends
    if text == current:
        return
    if not _set(UPDATE_VARIABLE):
        if current is None:
            pytest.fail(f"no golden file {path.name}: create it with {UPDATE_VARIABLE}=1")
        assert text == current, f"{path.name} differs; if intended: {UPDATE_VARIABLE}=1, review"
        return
    if any(_set(name) for name in CI_VARIABLES):
        pytest.fail(f"{UPDATE_VARIABLE}=1 under CI: golden files are rewritten only by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    pytest.fail(f"rewrote {path.name}: review `git diff`, then run again without {UPDATE_VARIABLE}")
