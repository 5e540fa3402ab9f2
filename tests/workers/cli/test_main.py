"""The `pullpolicy` command line: exit codes, formats, fix modes, configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workers.cli.main import main

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "examples" / "demo"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    return target


def test_check_reports_and_exits_1(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(demo)]) == 1
    out = capsys.readouterr().out
    assert "apps/web.yaml:17:11: Deployment/web container 'web'" in out
    assert out.strip().endswith("(6 files checked, 2 exempted)")
    assert "6 findings in 4 files" in out


def test_fix_then_check_is_clean(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()}
    assert main(["fix", str(demo)]) == 1
    assert "fixed 6 containers in 4 files" in capsys.readouterr().out
    changed = {p for p, data in before.items() if p.read_bytes() != data}
    assert {p.relative_to(demo).as_posix() for p in changed} == {
        "apps/web.yaml",
        "apps/nightly.yaml",
        "apps/toolbox.json",
        "chart/values.yaml",
    }
    assert main(["check", str(demo)]) == 0
    assert main(["fix", str(demo)]) == 0  # nothing left: a second fix is a no-op


def test_dry_run_diff_writes_nothing(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()}
    assert main(["fix", "--dry-run", "--diff", str(demo)]) == 1
    out = capsys.readouterr().out
    assert "+          imagePullPolicy: Always" in out
    assert "-          imagePullPolicy: IfNotPresent  # cached forever on each node" in out
    assert "would fix 6 containers in 4 files" in out
    assert all(p.read_bytes() == data for p, data in before.items())


def test_stdout_prints_one_fixed_file(
    demo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(demo)
    assert main(["fix", "--stdout", "apps/toolbox.json"]) == 1
    captured = capsys.readouterr()
    assert '"imagePullPolicy": "Always"' in captured.out
    assert b"Always" not in (demo / "apps" / "toolbox.json").read_bytes()
    assert main(["fix", "--stdout", "apps"]) == 2


@pytest.mark.parametrize("output", ["json", "sarif", "github"])
def test_machine_formats(demo: Path, output: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", output, str(demo)]) == 1
    out = capsys.readouterr().out
    if output == "json":
        data = json.loads(out)
        assert len(data["findings"]) == 6 and len(data["exempted"]) == 2
    elif output == "sarif":
        data = json.loads(out)
        assert data["version"] == "2.1.0"
        assert len(data["runs"][0]["results"]) == 6
    else:
        assert len(out.splitlines()) == 6
        assert all(
            line.startswith(("::warning file=", "::notice file=")) for line in out.splitlines()
        )


def test_config_at_tree_root_is_honoured(demo: Path) -> None:
    (demo / ".pullpolicy.yml").write_text(
        "paths:\n  exclude: ['apps/**']\nrules:\n  helm_values: false\n"
    )
    assert main(["check", str(demo)]) == 0


def test_bad_config_is_a_usage_error(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (demo / ".pullpolicy.yml").write_text("rule:\n  never: keep\n")
    assert main(["check", str(demo)]) == 2
    assert "did you mean 'rules'" in capsys.readouterr().err


def test_validate_config_and_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text("mode: check\n")
    bad.write_text("mode: sometimes\n")
    assert main(["validate-config", str(good)]) == 0
    assert main(["validate-config", str(bad)]) == 1
    assert main(["validate-config", str(tmp_path / "missing.yml")]) == 2
    capsys.readouterr()
    assert main(["schema"]) == 0
    assert (
        capsys.readouterr().out
        == (REPO / "workers" / "config" / "pullpolicy.schema.json").read_text()
    )


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "nope")]) == 2


def test_fix_diff_into_a_reader_that_leaves_still_fixes_every_file(tmp_path: Path) -> None:
    # `pullpolicy fix --diff | head`: more diff than a pipe buffers, and a reader that stops.
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{n}}}\n"
        "spec:\n  containers:\n  - {{name: a, image: a:1}}\n"
    )
    for n in range(400):
        (tmp_path / f"pod-{n}.yaml").write_text(pod.format(n=n))
    command = [sys.executable, "-m", "workers.cli", "fix", "--diff", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"--- a/")
    process.stdout.close()  # like `head -1` exiting
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1  # files changed
    assert "Traceback" not in errors and "BrokenPipe" not in errors
    fixed = [p for p in tmp_path.iterdir() if "imagePullPolicy: Always" in p.read_text()]
    assert len(fixed) == 400
