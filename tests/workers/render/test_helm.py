"""Helm's engine in its child process (workers/render/helm.py): renders, refusals, safety."""

from __future__ import annotations

import pytest

from workers.core.renders import RenderFailed
from workers.render.files import safe_relative
from workers.render.helm import HelmEngine

CHART = b"apiVersion: v2\nname: web\nversion: 0.1.0\n"
POD = b"""apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-web
spec:
  containers:
    - name: web
      image: nginx:1.25
      imagePullPolicy: {{ .Values.pullPolicy }}
"""


def test_renders_templates_under_their_repository_paths(engine: HelmEngine) -> None:
    files = {
        "deploy/web/Chart.yaml": CHART,
        "deploy/web/values.yaml": b"pullPolicy: IfNotPresent\n",
        "deploy/web/templates/pod.yaml": POD,
        "deploy/web/templates/NOTES.txt": b"Installed {{ .Release.Name }}\n",
        "deploy/web/templates/_helpers.tpl": b'{{- define "x" -}}x{{- end }}\n',
    }
    rendered = engine(files, "deploy/web")
    assert list(rendered) == ["deploy/web/templates/pod.yaml"]  # no NOTES.txt, no partials
    assert "imagePullPolicy: IfNotPresent" in rendered["deploy/web/templates/pod.yaml"]
    assert "name: release-name-web" in rendered["deploy/web/templates/pod.yaml"]


def test_a_chart_at_the_repository_root(engine: HelmEngine) -> None:
    rendered = engine({"Chart.yaml": CHART, "templates/pod.yaml": POD}, "")
    assert list(rendered) == ["templates/pod.yaml"]


def test_a_required_value_fails_with_helms_message(engine: HelmEngine) -> None:
    files = {"c/Chart.yaml": CHART, "c/templates/x.yaml": b'{{ required "set x" .Values.x }}\n'}
    with pytest.raises(RenderFailed, match="set x") as failure:
        engine(files, "c")
    assert "pullpolicy-helm-" not in str(failure.value)  # no path of this machine
    assert "\n" not in str(failure.value)


def test_a_missing_dependency_is_named(engine: HelmEngine) -> None:
    chart = (
        CHART
        + b"dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://example.invalid\n"
    )
    with pytest.raises(RenderFailed, match="missing dependency redis"):
        engine({"c/Chart.yaml": chart, "c/templates/pod.yaml": POD}, "c")


def test_no_chart_file_is_refused(engine: HelmEngine) -> None:
    with pytest.raises(RenderFailed, match=r"no Chart\.yaml"):
        engine({"c/templates/pod.yaml": POD}, "c")


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "", "a\\b"])
def test_paths_never_escape_the_private_directory(path: str) -> None:
    with pytest.raises(RenderFailed, match="refused"):
        safe_relative(path)


def test_a_render_that_takes_too_long_stops_the_child(engine: HelmEngine) -> None:
    # A limit no render meets: the child is killed; the next render starts a new one.
    files = {"c/Chart.yaml": CHART, "c/templates/pod.yaml": POD}
    with HelmEngine(timeout=1e-6) as slow, pytest.raises(RenderFailed, match="longer than"):
        slow(files, "c")
    assert list(engine(files, "c")) == ["c/templates/pod.yaml"]
