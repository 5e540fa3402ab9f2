"""Whole-tree scans: path globs, Helm charts (templates skipped, values fixed), read errors."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from workers.config.model import Config, Paths, Rules
from workers.core.findings import FileReport, Source
from workers.core.helm import ValueRef, value_refs
from workers.core.tree import ReadError, included, plan_scan, scan

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
    "spec:\n  containers:\n  - {name: a, image: a:1}\n"
)
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
        - name: sidecar
          imagePullPolicy: {{ .Values.sidecar.pullPolicy | default "IfNotPresent" | quote }}
        {{- with .Values.extra }}
          imagePullPolicy: {{ default "Always" .Values.extra.policy }}
        {{- end }}
"""
VALUES = """\
# Default values for api.
image:
  repository: registry.example.com/api   # where it lives
  tag: "2.4"
  pullPolicy: IfNotPresent

sidecar: {}
"""


def run(
    files: Mapping[str, str | bytes], config: Config | None = None, fix: bool = True
) -> dict[str, FileReport]:
    data = {path: v.encode() if isinstance(v, str) else v for path, v in files.items()}

    def read(path: str) -> bytes:
        value = data[path]
        if value == b"<link>":
            raise ReadError("symbolic link: not followed")
        return value

    config = config or Config()
    return {r.path: r for r in scan(plan_scan(data, config), read, config, fix=fix)}


def test_value_refs_understand_pipes_and_defaults() -> None:
    assert value_refs(TEMPLATE) == [
        ValueRef("image.pullPolicy", None),
        ValueRef("sidecar.pullPolicy", "IfNotPresent"),
        ValueRef("extra.policy", "Always"),
    ]


def test_helm_values_are_fixed_and_templates_untouched() -> None:
    reports = run(
        {
            "charts/api/Chart.yaml": "apiVersion: v2\nname: api\n",
            "charts/api/values.yaml": VALUES,
            "charts/api/templates/deployment.yaml": TEMPLATE,
            "charts/api/templates/_helpers.tpl": "{{/* nothing */}}",
        }
    )
    assert set(reports) == {"charts/api/Chart.yaml", "charts/api/values.yaml"}
    values = reports["charts/api/values.yaml"]
    by_key = {f.value_path: f for f in values.findings}
    assert set(by_key) == {"image.pullPolicy", "sidecar.pullPolicy"}
    image = by_key["image.pullPolicy"]
    assert (image.source, image.line, image.current) == (Source.HELM_VALUES, 5, "IfNotPresent")
    assert image.image == "registry.example.com/api:2.4"
    assert image.name == "api"
    # sidecar.pullPolicy is absent: the template's default applies and cannot be patched in place
    assert [(f.value_path, reason) for f, reason in values.unfixable] == [
        (
            "sidecar.pullPolicy",
            "sidecar.pullPolicy is not set in values.yaml; add `sidecar.pullPolicy: Always`",
        )
    ]
    assert values.fixed == VALUES.replace("pullPolicy: IfNotPresent", "pullPolicy: Always").encode()


def test_helm_values_switch_and_fine_values() -> None:
    files = {
        "Chart.yaml": "name: root-chart\n",
        "values.yaml": "image:\n  pullPolicy: Always\n",
        "templates/d.yaml": "imagePullPolicy: {{ .Values.image.pullPolicy }}\n",
    }
    assert run(files)["values.yaml"].findings == ()
    files["values.yaml"] = "image:\n  pullPolicy: Never\n"
    assert len(run(files)["values.yaml"].findings) == 1
    assert "values.yaml" not in run(files, Config(rules=Rules(helm_values=False)))


def test_nested_subchart_templates_are_skipped() -> None:
    reports = run(
        {
            "c/Chart.yaml": "name: c\n",
            "c/charts/sub/Chart.yaml": "name: sub\n",
            "c/charts/sub/templates/pod.yaml": POD,
            "c/templates/pod.yaml": POD,
            "c/crds/pod.yaml": POD,
        }
    )
    assert "c/charts/sub/templates/pod.yaml" not in reports
    assert "c/templates/pod.yaml" not in reports
    assert len(reports["c/crds/pod.yaml"].findings) == 1


def test_read_errors_become_skipped_reports() -> None:
    reports = run({"a.yaml": b"<link>", "b.yaml": POD})
    assert reports["a.yaml"].skipped == "symbolic link: not followed"
    assert len(reports["b.yaml"].findings) == 1


@pytest.mark.parametrize(
    ("path", "paths", "expected"),
    [
        ("a.yaml", Paths(), True),
        ("deep/er/a.yml", Paths(), True),
        ("a.json", Paths(), True),
        ("a.txt", Paths(), False),
        ("deploy/a.yaml", Paths(include=("deploy/*.yaml",)), True),
        ("deploy/x/a.yaml", Paths(include=("deploy/*.yaml",)), False),
        ("deploy/x/a.yaml", Paths(include=("deploy/**",)), True),
        ("test/a.yaml", Paths(exclude=("test/**",)), False),
        ("src/test/a.yaml", Paths(exclude=("**/test/**",)), False),
    ],
)
def test_path_globs(path: str, paths: Paths, expected: bool) -> None:
    assert included(path, paths) is expected


def test_excluded_paths_are_not_read() -> None:
    config = Config(paths=Paths(exclude=("vendor/**",)))
    assert list(run({"vendor/a.yaml": POD, "b.yaml": POD}, config)) == ["b.yaml"]


@pytest.mark.timeout(30)  # a safety net only: the old regex never finished on this pattern
def test_hostile_glob_does_not_hang_the_plan() -> None:
    deep = "/".join(f"d{i}" for i in range(30)) + "/a.yaml"
    hostile = Paths(include=("**/" * 14 + "*.yml",))
    assert included(deep, hostile) is False
    assert included(deep, Paths(include=("**/" * 14 + "*.yaml",))) is True
