"""check/fix over a tree with kustomizations: rendered with kubectl after the manifests, one
report per file (a patch fixed by the manifest scan and by its render), or one line without
kubectl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.cli.main import main
from workers.config.model import Config
from workers.core.renders import rendered_findings
from workers.render import kustomize

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2
        - name: side
          image: registry.example.com/side:1
          imagePullPolicy: Always
"""
# `side` is decided here (its policy), `extra` is a whole container: the manifest scan's.
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: side
          imagePullPolicy: IfNotPresent
        - name: extra
          image: registry.example.com/extra:2
"""
FIXED_PATCH = PATCH.replace("IfNotPresent", "Always").replace(
    "extra:2\n", "extra:2\n          imagePullPolicy: Always\n"
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "base").mkdir()
    (tmp_path / "overlay").mkdir()
    (tmp_path / "base" / "deployment.yaml").write_text(BASE)
    (tmp_path / "base" / "kustomization.yaml").write_text("resources:\n  - deployment.yaml\n")
    (tmp_path / "overlay" / "patch.yaml").write_text(PATCH)
    (tmp_path / "overlay" / "kustomization.yaml").write_text(
        "resources:\n  - ../base\npatches:\n  - path: patch.yaml\n"
    )
    return tmp_path


def needs_kubectl() -> None:
    if not kustomize.available():
        pytest.skip("kubectl is not installed (kubectl kustomize renders kustomizations)")


def test_fix_patches_a_file_once_with_both_fixes_and_lists_the_kustomizations(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_kubectl()
    assert main(["fix", "--diff", str(tree)]) == 1
    out = capsys.readouterr().out
    assert (tree / "overlay" / "patch.yaml").read_text() == FIXED_PATCH
    assert out.count(f"+++ b/{str(tree).lstrip('/')}/overlay/patch.yaml") == 1
    assert (
        f"kustomization {tree}/overlay: verified (3 non-Always rendered before the fix, 0 after)"
        in out
    )
    assert (
        f"kustomization {tree}/base: verified (1 non-Always rendered before the fix, 0 after)"
        in out
    )
    assert "fixed 3 containers in 2 files" in out
    files = {
        path.relative_to(tree).as_posix(): path.read_bytes()
        for path in tree.rglob("*")
        if path.is_file()
    }
    assert rendered_findings(kustomize.render(files, "overlay"), Config()) == []
    assert main(["check", str(tree)]) == 0


def test_check_json_has_each_finding_once_and_the_kustomizations_beside_the_charts(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_kubectl()
    assert main(["check", "--format", "json", str(tree)]) == 1
    report = json.loads(capsys.readouterr().out)
    places = sorted((f["path"], f["line"], f["rendered_in"]) for f in report["findings"])
    assert places == [
        (f"{tree}/base/deployment.yaml", 10, None),
        (f"{tree}/overlay/patch.yaml", 10, f"{tree}/overlay"),
        (f"{tree}/overlay/patch.yaml", 12, None),
    ]
    assert report["charts"] == []
    assert [
        (k["root"], k["verified"], k["before"], k["after"]) for k in report["kustomizations"]
    ] == [
        (f"{tree}/base", True, 1, 0),
        (f"{tree}/overlay", True, 3, 0),
    ]
    assert (tree / "overlay" / "patch.yaml").read_text() == PATCH  # check changes nothing


def test_without_kubectl_one_line_says_so_and_the_manifests_are_checked(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kustomize, "kubectl", lambda: None)
    assert main(["check", str(tree)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("kustomizations not rendered: kubectl not found") == 1
    assert "rendered in" not in captured.out and "kustomization " not in captured.out
    assert "2 findings in 2 files" in captured.out


def test_named_files_are_checked_as_manifests_without_rendering_their_kustomization(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # pre-commit names changed files: a kustomization's closure is not among them.
    monkeypatch.chdir(tree)
    assert main(["check", "overlay/kustomization.yaml", "overlay/patch.yaml"]) == 1
    captured = capsys.readouterr()
    assert "kustomization" not in captured.out and "kubectl" not in captured.err
    assert "overlay/patch.yaml:12:11:" in captured.out  # the whole container: a manifest's


def test_sarif_carries_each_kustomization_as_a_notification(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_kubectl()
    assert main(["check", "--format", "sarif", str(tree)]) == 1
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    notes = [
        n["message"]["text"]
        for invocation in run["invocations"]
        for n in invocation["toolExecutionNotifications"]
    ]
    assert (
        f"kustomization {tree}/overlay: verified (3 non-Always rendered before the fix, 0 after)"
        in notes
    )
