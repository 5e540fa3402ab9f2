"""The kustomize engine: kubectl over only the given files, no network, bounded; and the
attribution scenarios rendered for real, before and after the fix."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from tests.kustomize_scenarios import BASE, SCENARIOS, Scenario
from workers.config.model import Config
from workers.core.overlays import check_kustomizations
from workers.core.renders import RenderFailed, rendered_findings
from workers.render import kustomize


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    if not kustomize.available():
        pytest.skip("kubectl is not installed (kubectl kustomize renders kustomizations)")


def encoded(files: Mapping[str, str]) -> dict[str, bytes]:
    return {path: text.encode() for path, text in files.items()}


def test_a_kustomization_renders_to_one_stream_named_by_its_directory() -> None:
    rendered = kustomize.render(encoded(BASE), "base")
    assert list(rendered) == ["base"]
    (document,) = yaml.safe_load_all(rendered["base"])
    assert document["metadata"]["name"] == "web"


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_the_real_render_agrees_with_the_golden_finding_and_fix(scenario: Scenario) -> None:
    files = encoded(scenario.files)
    config = Config()
    before = kustomize.render(files, "overlay")
    (rendered,) = rendered_findings(before, config)
    assert (rendered.container, rendered.current) == (scenario.container, scenario.current)
    reports, verifications = check_kustomizations(
        sorted(files), files.__getitem__, files.__getitem__, kustomize.render, config, fix=True
    )
    (report,) = reports
    (finding,) = report.findings
    assert (report.path, finding.line, finding.column) == (
        scenario.path,
        scenario.line,
        scenario.column,
    )
    assert report.fixed is not None and report.fixed.decode() == scenario.fixed
    overlay = next(v for v in verifications if v.root == "overlay")
    assert (overlay.verified, overlay.reason, overlay.before, overlay.after) == (True, None, 1, 0)
    after = kustomize.render({**files, scenario.path: report.fixed}, "overlay")
    assert rendered_findings(after, config) == []


def test_a_remote_base_is_refused_before_kubectl_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kustomize, "KUBECTL", "/nonexistent/kubectl")  # it must not get there
    files = {"k/kustomization.yaml": b"resources:\n- github.com/example/app/config?ref=v1\n"}
    with pytest.raises(RenderFailed, match=r"^remote base github.com/example/app/config\?ref=v1"):
        kustomize.render(files, "k")


@pytest.mark.parametrize("path", ["../outside.yaml", "/etc/passwd", "a/../../b", "a//b", "./a"])
def test_a_path_that_could_leave_the_temporary_directory_is_refused(path: str) -> None:
    files = {**encoded(BASE), path: b"x"}
    with pytest.raises(RenderFailed, match="refused path"):
        kustomize.render(files, "base")


def test_the_error_is_kustomize_s_own_without_temporary_paths() -> None:
    files = {"k/kustomization.yaml": b"resources:\n- missing.yaml\n"}
    with pytest.raises(RenderFailed) as raised:
        kustomize.render(files, "k")
    message = str(raised.value)
    assert "missing.yaml" in message
    assert "pullpolicy-kustomize" not in message and "/tmp" not in message
    assert "\n" not in message


def test_output_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kustomize, "OUTPUT_LIMIT_BYTES", 64)
    with pytest.raises(RenderFailed, match="output over"):
        kustomize.render(encoded(BASE), "base")


def test_a_directory_without_a_kustomization_is_refused() -> None:
    with pytest.raises(RenderFailed, match="no kustomization in base"):
        kustomize.render({"base/deployment.yaml": b"kind: ConfigMap\n"}, "base")


def test_a_kustomization_at_the_repository_root_renders() -> None:
    files = {"kustomization.yaml": b"resources: [base]\n", **encoded(BASE)}
    assert list(kustomize.render(files, "")) == [""]


def test_a_render_over_its_time_limit_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kustomize, "TIME_LIMIT_SECONDS", 1e-6)  # no process starts that fast
    with pytest.raises(RenderFailed, match="took longer than"):
        kustomize.render(encoded(BASE), "base")


def test_kubectl_gets_none_of_the_caller_s_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "secret")
    monkeypatch.setenv("KUBECONFIG", "/home/someone/.kube/config")
    environment = kustomize._environment(tmp_path)
    assert "GITHUB_TOKEN" not in environment
    assert environment["KUBECONFIG"].startswith(str(tmp_path))
    assert environment["GIT_ALLOW_PROTOCOL"] == "none"


def test_the_kubectl_beside_python_comes_before_the_one_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    on_path = shutil.which("kubectl")
    assert kustomize.kubectl() == on_path  # nothing beside python: the PATH's
    beside = bin_dir / "kubectl"
    beside.write_text("#!/bin/sh\n")
    assert kustomize.kubectl() == on_path  # not executable: not a program
    beside.chmod(0o755)
    assert kustomize.kubectl() == str(beside)
