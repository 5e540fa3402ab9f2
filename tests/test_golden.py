"""tests/golden.py: a run that rewrites a golden file never passes, and CI never rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden import CI_VARIABLES, UPDATE_VARIABLE, assert_matches_golden


@pytest.fixture
def golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (UPDATE_VARIABLE, *CI_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "body.md"
    path.write_text("old\n", encoding="utf-8")
    return path


def test_matching_text_passes(golden: Path) -> None:
    assert_matches_golden(golden, "old\n")


def test_different_text_fails_and_leaves_the_file(golden: Path) -> None:
    with pytest.raises(AssertionError):
        assert_matches_golden(golden, "new\n")
    assert golden.read_text(encoding="utf-8") == "old\n"


def test_a_missing_golden_file_fails(golden: Path) -> None:
    with pytest.raises(pytest.fail.Exception):
        assert_matches_golden(golden.with_name("absent.md"), "new\n")
    assert not golden.with_name("absent.md").exists()


def test_update_rewrites_and_still_fails(golden: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UPDATE_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception):
        assert_matches_golden(golden, "new\r\n")
    assert golden.read_bytes() == b"new\r\n"  # written as given, line endings included
    assert_matches_golden(golden, "new\r\n")  # the next run, with nothing left to rewrite, passes


@pytest.mark.parametrize("ci_variable", CI_VARIABLES)
def test_update_is_refused_under_ci(
    golden: Path, monkeypatch: pytest.MonkeyPatch, ci_variable: str
) -> None:
    monkeypatch.setenv(UPDATE_VARIABLE, "1")
    monkeypatch.setenv(ci_variable, "true" if ci_variable == "CI" else "1")
    with pytest.raises(pytest.fail.Exception):
        assert_matches_golden(golden, "new\n")
    assert golden.read_text(encoding="utf-8") == "old\n"
