"""`pullpolicy fix` (workers/cli/fix.py): in place, dry run, diff, stdout, summary words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workers.cli.main import main


def test_fix_then_check_is_clean(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()}
    assert main(["fix", str(demo)]) == 1
    # The PR body's words: one of the six is a Helm value, not a container; the chart is
    # rendered before and after.
    assert capsys.readouterr().out == (
        f"chart {demo}/chart: verified (1 non-Always rendered before the fix, 0 after)\n"
        "fixed 5 containers and 1 Helm value in 4 files\n"
    )
    changed = {p for p, data in before.items() if p.read_bytes() != data}
    assert {p.relative_to(demo).as_posix() for p in changed} == {
        "apps/web.yaml",
        "apps/nightly.yaml",
        "apps/toolbox.json",
        "chart/values.yaml",
    }
    assert main(["check", str(demo)]) == 0
    assert main(["fix", str(demo)]) == 0  # nothing left: a second fix is a no-op
    assert capsys.readouterr().out.splitlines()[-1] == "fixed 0 containers in 0 files"


def test_dry_run_diff_writes_nothing(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()}
    assert main(["fix", "--dry-run", "--diff", str(demo)]) == 1
    out = capsys.readouterr().out
    assert "+          imagePullPolicy: Always" in out
    assert "-          imagePullPolicy: IfNotPresent  # cached forever on each node" in out
    assert out.splitlines()[-1] == "would fix 5 containers and 1 Helm value in 4 files"
    assert all(p.read_bytes() == data for p, data in before.items())


def test_stdout_prints_one_fixed_file(
    demo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(demo)
    assert main(["fix", "--stdout", "apps/toolbox.json"]) == 1
    captured = capsys.readouterr()
    assert '"imagePullPolicy": "Always"' in captured.out
    assert captured.err == "would fix 1 container in 1 file\n"
    assert b"Always" not in (demo / "apps" / "toolbox.json").read_bytes()
    assert main(["fix", "--stdout", "apps"]) == 2
    assert capsys.readouterr().err == "pullpolicy: --stdout takes exactly one file\n"


def test_a_file_left_unfixed_is_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - name: a\n    image: a:1\n    imagePullPolicy: |\n      Never\n"
    )
    assert main(["fix", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path}/pod.yaml:8: not fixed: imagePullPolicy is a block scalar",
        "fixed 0 containers in 0 files; 1 left unfixed",
    ]


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
