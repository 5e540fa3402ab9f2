"""Charts judged by what Helm renders (workers/core/charts.py): one test per attribution kind.

Each chart is small and written here; the engine is Helm's own (tests/render_engine.py). A
test asserts where the finding points, the exact source edit, and that the fixed chart
renders with no container left that is not Always.
"""

from __future__ import annotations

from collections.abc import Mapping

from workers.config.model import Config
from workers.core.charts import check_chart
from workers.core.findings import Source
from workers.core.renders import Render, RenderFailed, rendered_findings
from workers.render.helm import HelmEngine

CHART = b"apiVersion: v2\nname: app\nversion: 0.1.0\n"
HELPERS = b"""{{- define "app.pullPolicy" -}}
{{ .pullPolicy | default "IfNotPresent" }}
{{- end }}
"""


def deployment(container: str) -> bytes:
    head = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
"""
    return (head + container).encode()


def run(engine: Render, files: Mapping[str, bytes], *, fix: bool = True):  # type: ignore[no-untyped-def]
    result = check_chart("app", sorted(files), files.__getitem__, engine, Config(), fix=fix)
    fixed = dict(files)
    for report in result.reports:
        if report.fixed is not None:
            fixed[report.path] = report.fixed
    return result, fixed


def left(engine: Render, files: Mapping[str, bytes]) -> int:
    return len(rendered_findings(engine(files, "app"), Config()))


def test_a_value_read_through_a_helper(engine: HelmEngine) -> None:
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b"image:\n  repository: web\n  pullPolicy: IfNotPresent\n",
        "app/templates/_helpers.tpl": HELPERS,
        "app/templates/deploy.yaml": deployment(
            "        - name: web\n          image: web:1\n"
            '          imagePullPolicy: {{ include "app.pullPolicy" .Values.image }}\n'
        ),
    }
    result, fixed = run(engine, files)
    [report] = result.reports
    [finding] = report.findings
    assert (finding.path, finding.line, finding.source) == (
        "app/values.yaml",
        3,
        Source.HELM_VALUES,
    )
    assert (finding.value_path, finding.container, finding.rendered_in) == (
        "image.pullPolicy",
        "web",
        "app",
    )
    assert fixed["app/values.yaml"] == b"image:\n  repository: web\n  pullPolicy: Always\n"
    assert result.verification.verified and (
        result.verification.before,
        result.verification.after,
    ) == (1, 0)
    assert left(engine, fixed) == 0


def test_a_default_chain_with_global(engine: HelmEngine) -> None:
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b'global:\n  imagePullPolicy: Never\nimage:\n  pullPolicy: ""\n',
        "app/templates/deploy.yaml": deployment(
            "        - name: web\n          image: web:1\n"
            "          imagePullPolicy: {{ .Values.image.pullPolicy"
            " | default .Values.global.imagePullPolicy }}\n"
        ),
    }
    result, fixed = run(engine, files)
    [finding] = [f for r in result.reports for f in r.findings]
    # The empty key alone moves nothing it does not decide: the one that decides is global.
    assert finding.value_path in {"global.imagePullPolicy", "image.pullPolicy"}
    assert left(engine, fixed) == 0
    assert fixed["app/values.yaml"].count(b"Always") == 1  # one byte-minimal edit


def test_with_on_an_empty_value(engine: HelmEngine) -> None:
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b'pullPolicy: ""\n',
        "app/templates/deploy.yaml": deployment(
            "        - name: web\n          image: web:1\n"
            "          {{- with .Values.pullPolicy }}\n"
            "          imagePullPolicy: {{ . }}\n          {{- end }}\n"
        ),
    }
    result, fixed = run(engine, files)
    [finding] = [f for r in result.reports for f in r.findings]
    assert (finding.value_path, finding.current) == ("pullPolicy", None)
    assert fixed["app/values.yaml"] == b'pullPolicy: "Always"\n'
    assert left(engine, fixed) == 0


def test_an_absent_key_is_inserted_with_its_parents(engine: HelmEngine) -> None:
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b"image:\n  repository: web\nreplicas: 1\n",
        "app/templates/deploy.yaml": deployment(
            "        - name: web\n          image: web:1\n"
            "          {{- if .Values.image.pullPolicy }}\n"
            "          imagePullPolicy: {{ .Values.image.pullPolicy }}\n          {{- end }}\n"
            "        - name: side\n          image: side:1\n"
            "          {{- if and .Values.side .Values.side.pullPolicy }}\n"
            "          imagePullPolicy: {{ .Values.side.pullPolicy }}\n          {{- end }}\n"
        ),
    }
    result, fixed = run(engine, files)
    found = sorted((f.value_path, f.container, f.line) for r in result.reports for f in r.findings)
    assert found == [("image.pullPolicy", "web", 3), ("side.pullPolicy", "side", 4)]
    assert fixed["app/values.yaml"] == (
        b"image:\n  repository: web\n  pullPolicy: Always\nreplicas: 1\n"
        b"side:\n  pullPolicy: Always\n"
    )
    assert left(engine, fixed) == 0


def test_a_template_literal(engine: HelmEngine) -> None:
    files = {
        "app/Chart.yaml": CHART,
        "app/templates/deploy.yaml": deployment(
            "        - name: web\n          image: web:1\n"
            "          imagePullPolicy: 'IfNotPresent'\n"
        ),
    }
    result, fixed = run(engine, files)
    [finding] = [f for r in result.reports for f in r.findings]
    assert (finding.path, finding.line, finding.source) == (
        "app/templates/deploy.yaml",
        11,
        Source.HELM_TEMPLATE,
    )
    assert b"imagePullPolicy: 'Always'\n" in fixed["app/templates/deploy.yaml"]
    assert left(engine, fixed) == 0


def test_a_template_container_without_a_policy_line(engine: HelmEngine) -> None:
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b'tag: "1"\n',
        "app/templates/deploy.yaml": deployment(
            "        - image: web:{{ .Values.tag }}\n          name: web\n"
            "        - name: side\n          image: side:1\n          {{- if .Values.args }}\n"
            "          args: [x]\n          {{- end }}\n"
        ),
    }
    result, fixed = run(engine, files)
    findings = sorted((f.line, f.column, f.container) for r in result.reports for f in r.findings)
    assert findings == [(9, 11, "web"), (12, 11, "side")]
    text = fixed["app/templates/deploy.yaml"].decode()
    assert "- image: web:{{ .Values.tag }}\n          imagePullPolicy: Always\n" in text
    assert "image: side:1\n          imagePullPolicy: Always\n          {{- if" in text
    assert left(engine, fixed) == 0


def test_check_mode_reports_and_changes_nothing(engine: HelmEngine) -> None:
    files = {
        "app/Chart.yaml": CHART,
        "app/templates/deploy.yaml": deployment("        - name: web\n          image: web:1\n"),
    }
    result, fixed = run(engine, files, fix=False)
    assert [len(r.findings) for r in result.reports] == [1]
    assert fixed == files


def test_an_edit_that_changes_more_than_policies_is_not_kept(engine: HelmEngine) -> None:
    # The value also names a label: setting it would change the object, so nothing is fixed.
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b"pullPolicy: IfNotPresent\n",
        "app/templates/deploy.yaml": deployment(
            "        - name: web\n          image: web:1\n"
            "          imagePullPolicy: {{ .Values.pullPolicy }}\n"
            "          env:\n            - name: MODE\n"
            "              value: {{ .Values.pullPolicy }}\n"
        ),
    }
    result, fixed = run(engine, files)
    [finding] = [f for r in result.reports for f in r.findings]
    assert finding.path == "app/templates/deploy.yaml"
    assert [reason for r in result.reports for _, reason in r.unfixable]
    assert fixed == files


def test_a_chart_that_does_not_render_is_not_verified() -> None:
    def refuse(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        raise RenderFailed("execution error at (app/templates/x.yaml:1:3): set x\nmore")

    result = check_chart("app", ["app/Chart.yaml"], lambda path: CHART, refuse, Config())
    assert not result.rendered and result.reports == ()
    assert result.verification.reason == "execution error at (app/templates/x.yaml:1:3): set x"


def test_edits_that_fail_together_keep_the_largest_subset_that_verifies(
    engine: HelmEngine,
) -> None:
    # Each value alone only moves its container to Always; both together also add a label,
    # so the combined render fails the guard: the first edit stands, the second is dropped.
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b"a: IfNotPresent\nb: IfNotPresent\n",
        "app/templates/deploy.yaml": b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels:
    all-always: {{ and (eq .Values.a "Always") (eq .Values.b "Always") | quote }}
spec:
  template:
    spec:
      containers:
        - name: one
          image: one:1
          imagePullPolicy: {{ .Values.a }}
        - name: two
          image: two:1
          imagePullPolicy: {{ .Values.b }}
""",
    }
    result, fixed = run(engine, files)
    assert fixed["app/values.yaml"] == b"a: Always\nb: IfNotPresent\n"
    [report] = result.reports
    assert [(f.value_path, f.container) for f in report.findings] == [("a", "one"), ("b", "two")]
    [(finding, reason)] = report.unfixable
    assert finding.container == "two"
    assert reason == (
        "edit dropped: app/templates/deploy.yaml[0].metadata.labels.all-always changed beyond"
        " pull policies"
    )
    verification = result.verification
    assert verification.verified and (verification.before, verification.after) == (2, 1)
    assert verification.reason == "1 of 2 edits dropped: " + reason.removeprefix("edit dropped: ")
    assert left(engine, fixed) == 1


def test_an_absent_key_a_helper_reads_from_the_mapping_it_is_handed(engine: HelmEngine) -> None:
    # `include "app.pullPolicy" .Values.image` reads `.pullPolicy`, which image lacks: the
    # helper's default decides, and the key is inserted into the mapping handed to it.
    files = {
        "app/Chart.yaml": CHART,
        "app/values.yaml": b"image:\n  repository: web\nside:\n  repository: side\n",
        "app/templates/_helpers.tpl": HELPERS,
        "app/templates/deploy.yaml": deployment(
            "        - name: web\n          image: web:1\n"
            '          imagePullPolicy: {{ include "app.pullPolicy" .Values.image | quote }}\n'
            "        {{- with .Values.side }}\n"
            "        - name: side\n          image: side:1\n"
            '          imagePullPolicy: {{ .pullPolicy | default "Never" }}\n'
            "        {{- end }}\n"
        ),
    }
    result, fixed = run(engine, files)
    found = sorted((f.value_path, f.container, f.line) for r in result.reports for f in r.findings)
    assert found == [("image.pullPolicy", "web", 3), ("side.pullPolicy", "side", 5)]
    assert fixed["app/values.yaml"] == (
        b"image:\n  repository: web\n  pullPolicy: Always\nside:\n  repository: side\n"
        b"  pullPolicy: Always\n"
    )
    assert result.verification.verified
    assert left(engine, fixed) == 0
