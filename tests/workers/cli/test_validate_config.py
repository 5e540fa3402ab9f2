"""`pullpolicy validate-config` (workers/cli/validate_config.py): the exit codes of `check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.cli.main import main


def test_a_valid_config_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yml"
    good.write_text("mode: check\n")
    assert main(["validate-config", str(good)]) == 0
    assert capsys.readouterr().err == ""


def test_an_invalid_config_exits_2_as_check_does(
    tmp_path: Path, demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = demo / ".pullpolicy.yml"
    bad.write_text("mode: sometimes\n")
    assert main(["validate-config", str(bad)]) == 2
    message = f"pullpolicy: {bad}:1: mode: expected one of 'fix', 'check', got 'sometimes'\n"
    assert capsys.readouterr().err == message
    assert main(["check", str(demo)]) == 2
    assert capsys.readouterr().err == message


def test_every_file_is_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    first.write_text("mod: check\n")
    second.write_text("enabled: maybe\n")
    assert main(["validate-config", str(first), str(second)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"pullpolicy: {first}:1: mod: unknown key 'mod', did you mean 'mode'?",
        f"pullpolicy: {second}:1: enabled: expected true or false, got 'maybe'",
    ]


def test_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate-config", str(tmp_path / "missing.yml")]) == 2
    assert (
        capsys.readouterr().err
        == f"pullpolicy: {tmp_path}/missing.yml: No such file or directory\n"
    )
