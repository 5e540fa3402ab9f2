"""Golden files for containers in custom resources and for merge keys (golden/crds/).

Each `<case>.in.yaml` is checked and fixed: the fixed bytes must equal `<case>.out.yaml` and
the text report `<case>.report.txt` (which names every container). The Argo case is also
rendered as JSON, SARIF and a PR body, since those name containers too. UPDATE_GOLDEN=1
rewrites a file that differs and fails, so a rewrite is never a pass; review the diff.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.golden import assert_matches_golden
from workers.cli.check import as_json
from workers.config.model import Config
from workers.core.explain import text_report
from workers.core.explain_markdown import pr_body
from workers.core.findings import FileReport
from workers.core.manifest import check_manifest
from workers.core.sarif import sarif

GOLDEN = Path(__file__).parent / "golden" / "crds"
CASES = sorted(path for path in GOLDEN.iterdir() if path.name.endswith(".in.yaml"))
VERSION = "0.0.0-golden"


def assert_golden(path: Path, text: str) -> None:
    assert_matches_golden(path, text)  # one mechanism for every golden file: tests/golden.py


def _case(source: Path) -> str:
    return source.name.removesuffix(".in.yaml")


def _check(source: Path, *, fix: bool) -> FileReport:
    name = f"{_case(source)}.yaml"
    return check_manifest(name, source.read_bytes(), Config(), fix=fix)


@pytest.mark.parametrize("source", CASES, ids=_case)
def test_fix_and_report_match_golden(source: Path) -> None:
    report = _check(source, fix=True)
    assert report.skipped is None
    assert report.fixed is not None
    assert_golden(GOLDEN / f"{_case(source)}.out.yaml", report.fixed.decode("utf-8"))
    assert_golden(GOLDEN / f"{_case(source)}.report.txt", text_report([report]))


@pytest.mark.parametrize("source", CASES, ids=_case)
def test_fixing_the_output_leaves_only_what_could_not_be_fixed(source: Path) -> None:
    first = _check(source, fix=True)
    fixed = GOLDEN / f"{_case(source)}.out.yaml"
    again = check_manifest(f"{_case(source)}.yaml", fixed.read_bytes(), Config(), fix=True)
    assert again.fixed is None
    assert sorted(f.fingerprint for f in again.findings) == sorted(
        f.fingerprint for f, _ in first.unfixable
    )


def test_golden_set_covers_every_custom_resource_path() -> None:
    text = "".join(source.read_text(encoding="utf-8") for source in CASES)
    for kind in ("Task", "ClusterTask", "TaskRun", "Pipeline", "PipelineRun", "StrimziPodSet"):
        assert f"kind: {kind}\n" in text, kind
    for field in ("stepTemplate:", "sidecars:", "finally:", "pipelineSpec:", "containerSet:"):
        assert field in text, field


ARGO = GOLDEN / "argo-workflow.in.yaml"


def _argo() -> FileReport:
    return replace(_check(ARGO, fix=False), path="argo-workflow.yaml")


def test_argo_template_names_in_json() -> None:
    text = json.dumps(as_json([_argo()]) | {"version": VERSION}, indent=2) + "\n"
    assert_golden(GOLDEN / "argo-workflow.report.json", text)


def test_argo_template_names_in_sarif() -> None:
    text = json.dumps(sarif([_argo()], version=VERSION), indent=2) + "\n"
    assert_golden(GOLDEN / "argo-workflow.sarif.json", text)


def test_argo_template_names_in_the_pr_body() -> None:
    report = _argo()
    body = pr_body(list(report.findings), exempted=[], skipped=[], version=VERSION)
    assert_golden(GOLDEN / "argo-workflow.body.md", body)
