"""`pullpolicy check` (workers/cli/check.py): reports, formats, configuration, skipped files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from workers.cli.main import main
from workers.render import helm

BROKEN_YAML = "apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n"
POD_WITHOUT_CONTAINERS = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: 3\n"


def test_check_reports_and_exits_1(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(demo)]) == 1
    out = capsys.readouterr().out
    assert "apps/web.yaml:17:11: Deployment/web container 'web'" in out
    assert out.splitlines()[-1] == "6 findings in 4 files (6 files checked, 2 exempted)"


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


def test_bad_config_exits_2_with_the_prefix(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (demo / ".pullpolicy.yml").write_text("rule:\n  never: keep\n")
    assert main(["check", str(demo)]) == 2
    assert capsys.readouterr().err == (
        f"pullpolicy: {demo}/.pullpolicy.yml:1: rule: unknown key 'rule', did you mean 'rules'?\n"
    )


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"pullpolicy: {tmp_path}/nope: no such file or directory\n"


@pytest.fixture
def skipped_tree(tmp_path: Path) -> Path:
    (tmp_path / "broken.yaml").write_text(BROKEN_YAML)
    (tmp_path / "empty-pod.yaml").write_text(POD_WITHOUT_CONTAINERS)
    return tmp_path


def test_every_file_not_checked_is_listed_with_its_reason(
    skipped_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(skipped_tree)]) == 0  # not strict by default
    assert capsys.readouterr().out.splitlines() == [
        f"{skipped_tree}/broken.yaml: skipped: not valid YAML at line 5, column 1:"
        " did not find expected node content",
        f"{skipped_tree}/empty-pod.yaml: skipped:"
        " document 1: Pod/p: spec.containers is not a list of containers",
        "0 findings in 0 files (0 files checked, 2 files skipped)",
    ]


def test_strict_makes_skipped_files_fail(
    skipped_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--strict", str(skipped_tree)]) == 1
    capsys.readouterr()
    assert main(["check", "--strict", "--format", "json", str(skipped_tree)]) == 1
    skipped = json.loads(capsys.readouterr().out)["skipped"]
    assert [entry["path"] for entry in skipped] == [
        f"{skipped_tree}/broken.yaml",
        f"{skipped_tree}/empty-pod.yaml",
    ]


def test_strict_in_the_config_makes_skipped_files_fail(skipped_tree: Path) -> None:
    (skipped_tree / ".pullpolicy.yml").write_text("strict: true\n")
    assert main(["check", str(skipped_tree)]) == 1
    (skipped_tree / ".pullpolicy.yml").write_text("strict: false\n")
    assert main(["check", str(skipped_tree)]) == 0


def test_strict_passes_a_clean_tree(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - {name: a, image: a:1, imagePullPolicy: Always}\n"
    )
    assert main(["check", "--strict", str(tmp_path)]) == 0


def test_without_helms_engine_charts_are_read_as_text_and_it_says_so(
    demo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As without the `render` extra: `import helm_python` fails.
    monkeypatch.setitem(sys.modules, "helm_python", None)
    assert main(["check", str(demo), str(demo / "chart")]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("charts not rendered: install pullpolicy[render]") == 1
    assert f"{demo}/chart/values.yaml:7:15: Helm value 'image.pullPolicy'" in captured.out
    assert "rendered in" not in captured.out and "chart " not in captured.out.split(":")[0]


def test_with_helms_engine_a_chart_finding_names_its_render(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not helm.available():
        pytest.skip("helm-python-sdk is not installed (the `render` extra)")
    assert main(["check", "--format", "json", str(demo)]) == 1
    report = json.loads(capsys.readouterr().out)
    [finding] = [f for f in report["findings"] if f["rendered_in"] is not None]
    assert (finding["path"], finding["source"]) == (f"{demo}/chart/values.yaml", "helm-values")
    assert finding["rendered_in"] == f"{demo}/chart"
    assert report["charts"] == [
        {
            "kind": "chart",
            "root": f"{demo}/chart",
            "verified": True,
            "reason": None,
            "before": 1,
            "after": 0,
        }
    ]
