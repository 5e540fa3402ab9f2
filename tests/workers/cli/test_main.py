"""`pullpolicy` itself (workers/cli/main.py, workers/cli/errors.py): one error base with its exit
code and prefix, and crashes that never read as findings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from workers import __version__
from workers.cli import main as cli
from workers.cli.errors import CRASH, ISSUES_URL, UsageError
from workers.cli.main import main
from workers.render import kustomize
from workers.runtime.settings import SettingsError


def test_a_crash_exits_3_with_one_line_naming_the_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise KeyError("token=s3cret")  # the message may hold a secret: never shown

    monkeypatch.setattr(cli, "run_check", broken)
    assert main(["check", str(tmp_path)]) == CRASH == 3
    err = capsys.readouterr().err
    python = ".".join(str(part) for part in sys.version_info[:3])
    pattern = (
        rf"pullpolicy: internal error in pullpolicy {re.escape(__version__)} "
        rf"\(Python {re.escape(python)}\): KeyError at tests/workers/cli/test_main\.py:\d+; "
        rf"please report it at {re.escape(ISSUES_URL)}\n"
    )
    assert re.fullmatch(pattern, err), err
    assert "s3cret" not in err


def test_a_crash_in_a_subprocess_prints_no_traceback(tmp_path: Path) -> None:
    # A directory where a config file is expected: `read_bytes` raises IsADirectoryError,
    # which `--config` reports as a usage error; a real crash is simulated in-process above.
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "check", "--config", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"pullpolicy: {tmp_path}: Is a directory\n"


def test_ctrl_c_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_check", interrupted)
    assert main(["check", str(tmp_path)]) == 130
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (UsageError("two\nlines"), "pullpolicy: two\npullpolicy: lines\n"),
        (SettingsError("invalid settings: X"), "pullpolicy: invalid settings: X\n"),
    ],
)
def test_user_errors_exit_2_with_the_prefix_on_each_line(
    error: Exception,
    shown: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing(*args: object, **kwargs: object) -> int:
        raise error

    monkeypatch.setattr(cli, "run_check", failing)
    assert main(["check", str(tmp_path)]) == 2
    assert capsys.readouterr().err == shown


def test_a_settings_typo_is_a_usage_error_with_a_suggestion(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULLPOLICY_GITLAB_TOKN", "x")
    assert main(["scan", "gitlab", "group/project", "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        "pullpolicy: invalid settings: PULLPOLICY_GITLAB_TOKN:"
        " unknown setting, did you mean PULLPOLICY_GITLAB_TOKEN?\n"
    )


def test_version_names_what_renders_charts_and_kustomizations(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kustomize, "kubectl", lambda: "/opt/bin/kubectl")
    monkeypatch.setattr(kustomize, "version", lambda: "kubectl v9.9.9, kustomize v8.8.8")
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    first, charts, kustomizations = capsys.readouterr().out.splitlines()
    assert first == f"pullpolicy {__version__}"
    assert charts.startswith("charts: ")
    assert kustomizations == "kustomizations: kubectl v9.9.9, kustomize v8.8.8"
    monkeypatch.setattr(kustomize, "version", lambda: None)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.endswith(
        "kustomizations: /opt/bin/kubectl (its version unknown)\n"
    )
    monkeypatch.setattr(kustomize, "kubectl", lambda: None)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.endswith("kustomizations: kubectl not found\n")
