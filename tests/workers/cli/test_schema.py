"""`pullpolicy schema` (workers/cli/schema.py): prints the committed JSON Schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.cli.main import main

REPO = Path(__file__).resolve().parents[3]


def test_schema_prints_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    committed = REPO / "workers" / "config" / "pullpolicy.schema.json"
    assert capsys.readouterr().out == committed.read_text()
