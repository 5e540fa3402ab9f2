"""Golden in/out pairs, one per FIDELITY.md convention: the fixed file must equal `.out` byte
for byte, and fixing the output again must change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.config.model import Config
from workers.core.manifest import check_manifest

GOLDEN = Path(__file__).parent / "golden" / "fidelity"
CASES = sorted(path for path in GOLDEN.iterdir() if ".in." in path.name)


def _expected(source: Path) -> Path:
    return source.with_name(source.name.replace(".in.", ".out."))


def _display(path: Path) -> str:
    return path.name.replace(".in.", ".")


@pytest.mark.parametrize("source", CASES, ids=lambda p: p.name.split(".")[0])
def test_fix_matches_golden(source: Path) -> None:
    report = check_manifest(_display(source), source.read_bytes(), Config(), fix=True)
    assert report.skipped is None
    assert report.unfixable == ()
    assert report.fixed is not None
    assert report.fixed == _expected(source).read_bytes()


@pytest.mark.parametrize("source", CASES, ids=lambda p: p.name.split(".")[0])
def test_fixing_the_output_changes_nothing(source: Path) -> None:
    report = check_manifest(_display(source), _expected(source).read_bytes(), Config(), fix=True)
    assert report.findings == ()
    assert report.fixed is None


def test_golden_set_covers_every_convention() -> None:
    names = {path.name.split(".")[0] for path in CASES}
    assert len(names) >= 10
