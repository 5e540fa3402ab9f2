"""Whole-tree scans: path globs, Helm charts (templates skipped, values fixed), read errors."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from workers.config.model import Config, Paths, Rules
from workers.core.findings import Exempted, FileReport, Finding, Source, fingerprint
from workers.core.helm import ValueRef, value_refs
from workers.core.tree import ReadError, included, merge_reports, plan_scan, scan

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


def _finding(container: str, line: int) -> Finding:
    return Finding(
        path="overlay/patch.yaml",
        line=line,
        column=11,
        document=0,
        kind="Deployment",
        name="web",
        namespace=None,
        container_list="containers",
        container=container,
        image=None,
        current="IfNotPresent",
        changes_runtime=True,
        fingerprint=fingerprint("overlay/patch.yaml", container),
        source=Source.MANIFEST,
    )


def test_a_file_reported_by_both_scans_keeps_each_finding_once_and_the_later_bytes() -> None:
    plain, shared, patched = _finding("a", 10), _finding("b", 12), _finding("c", 14)
    first = FileReport("overlay/patch.yaml", (plain, shared), fixed=b"plain fix")
    later = FileReport(
        "overlay/patch.yaml",
        (shared, patched),
        (Exempted(_finding("d", 16), "comment"),),
        fixed=b"plain fix, then the patch's",
        unfixable=((patched, "fix dropped: why"),),
    )
    merged = merge_reports(first, later)
    assert merged.findings == (plain, shared, patched)
    assert merged.fixed == b"plain fix, then the patch's"
    assert [e.finding.container for e in merged.exempted] == ["d"]
    assert merged.unfixable == ((patched, "fix dropped: why"),)
    # Nothing patched by the later scan: the first one's bytes stand.
    assert merge_reports(first, FileReport(first.path, (patched,))).fixed == b"plain fix"


def test_the_plan_names_kustomizations_and_lists_every_path_only_when_there_are_some() -> None:
    listed = ["apps/kustomization.yaml", "apps/web.yaml", "docs/notes.md", "root/Kustomization"]
    plan = plan_scan(listed, Config())
    assert plan.kustomizations == ("apps", "root")
    assert plan.paths == tuple(sorted(listed))  # closures may name any file, manifest or not
    assert "apps/kustomization.yaml" in plan.manifests  # read by the plain scan first
    assert plan_scan(["apps/web.yaml", "docs/notes.md"], Config()).paths == ()
