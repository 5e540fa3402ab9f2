"""Detection rules from DETECTION.md: workload kinds, decisions, runtime impact, fingerprints."""

from __future__ import annotations

import textwrap

import pytest

from workers.config.model import Config, DigestPolicy, NeverPolicy, Rules
from workers.core.findings import Finding
from workers.core.manifest import check_manifest


def findings(text: str, config: Config | None = None, path: str = "m.yaml") -> list[Finding]:
    report = check_manifest(path, textwrap.dedent(text).encode(), config or Config())
    assert report.skipped is None, report.skipped
    return list(report.findings)


def names(text: str, config: Config | None = None) -> list[str]:
    return [f"{f.container_list}/{f.container}" for f in findings(text, config)]


POD_SPEC = """
      containers:
      - name: c
        image: c:1
"""


@pytest.mark.parametrize(
    ("kind", "api_version", "prefix"),
    [
        ("Deployment", "apps/v1", "spec:\n  template:\n    spec:"),
        ("Deployment", "extensions/v1beta1", "spec:\n  template:\n    spec:"),
        ("ReplicaSet", "apps/v1", "spec:\n  template:\n    spec:"),
        ("StatefulSet", "apps/v1beta2", "spec:\n  template:\n    spec:"),
        ("DaemonSet", "apps/v1", "spec:\n  template:\n    spec:"),
        ("ReplicationController", "v1", "spec:\n  template:\n    spec:"),
        ("Job", "batch/v1", "spec:\n  template:\n    spec:"),
        ("DeploymentConfig", "apps.openshift.io/v1", "spec:\n  template:\n    spec:"),
        ("Rollout", "argoproj.io/v1alpha1", "spec:\n  template:\n    spec:"),
        ("Service", "serving.knative.dev/v1", "spec:\n  template:\n    spec:"),
    ],
)
def test_template_kinds(kind: str, api_version: str, prefix: str) -> None:
    text = f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: w\n{prefix}\n"
    text += "      containers:\n      - name: c\n        image: c:1\n"
    assert names(text) == ["containers/c"]


def test_pod_podtemplate_and_cronjobs() -> None:
    text = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: p}
    spec:
      containers: [{name: a, image: a:1}]
      initContainers: [{name: b, image: b:1}]
      ephemeralContainers: [{name: c, image: c:1}]
    ---
    apiVersion: v1
    kind: PodTemplate
    metadata: {name: t}
    template:
      spec:
        containers: [{name: d, image: d:1}]
    ---
    apiVersion: batch/v1beta1
    kind: CronJob
    metadata: {name: cj}
    spec:
      jobTemplate:
        spec:
          template:
            spec:
              containers: [{name: e, image: e:1}]
    """
    assert names(text) == [
        "containers/a",
        "initContainers/b",
        "ephemeralContainers/c",
        "containers/d",
        "containers/e",
    ]


def test_argo_workflows() -> None:
    text = """\
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {generateName: wf-}
    spec:
      templates:
      - name: main
        container: {image: a:1}
      - name: s
        script: {image: b:1, source: echo}
        initContainers: [{name: i, image: c:1}]
        sidecars: [{name: side, image: d:1}]
      - name: set
        containerSet:
          containers: [{name: x, image: e:1}]
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: CronWorkflow
    metadata: {name: cron}
    spec:
      workflowSpec:
        templates:
        - name: t
          container: {image: f:1, imagePullPolicy: Always}
          sidecars: [{name: g, image: g:1}]
    """
    assert names(text) == [
        "container/main",
        "script/s",
        "initContainers/s/i",
        "sidecars/s/side",
        "containerSet.containers/set/x",
        "sidecars/t/g",
    ]


def test_lists_recurse_into_items() -> None:
    text = """\
    apiVersion: v1
    kind: DeploymentList
    items:
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: a}
      spec: {template: {spec: {containers: [{name: a, image: a:1}]}}}
    - apiVersion: v1
      kind: List
      items:
      - apiVersion: v1
        kind: Pod
        metadata: {name: b}
        spec: {containers: [{name: b, image: b:1}]}
    """
    found = findings(text)
    assert [(f.kind, f.name) for f in found] == [("Deployment", "a"), ("Pod", "b")]


@pytest.mark.parametrize(
    "text",
    [
        # Helm values / compose / CI files: no apiVersion + kind
        "image: {repository: x}\ncontainers:\n- name: a\n  image: a:1\n",
        # ConfigMap embedding a manifest in a string
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  pod.yaml: |\n"
        "    apiVersion: v1\n    kind: Pod\n    spec:\n      containers:\n      - image: x\n",
        # Kustomization
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"
        "images: [{name: containers, newTag: '1'}]\n",
        # generic fallback needs a real containers list
        "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\nspec:\n  template:\n"
        "    spec:\n      containers: []\n",
        # a patch fragment: container without image
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
        "    spec:\n      containers:\n      - name: a\n        resources: {}\n",
    ],
)
def test_not_workloads(text: str) -> None:
    assert findings(text) == []


@pytest.mark.parametrize(
    ("policy", "is_finding"),
    [
        ("Always", False),
        ("'Always'", False),
        ('"Always"', False),
        ("always", True),
        ("IfNotPresent", True),
        ("Never", True),
        ('""', True),
        ("~", True),
        ("null", True),
        ("Sometimes", True),
        ("[Always]", True),
    ],
)
def test_decision_per_value(policy: str, is_finding: bool) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    text += f"  - name: a\n    image: a:1\n    imagePullPolicy: {policy}\n"
    assert bool(findings(text)) is is_finding


@pytest.mark.parametrize(
    ("image", "policy", "changes_runtime"),
    [
        ("nginx", None, False),  # untagged: Kubernetes already defaults to Always
        ("nginx:latest", None, False),
        ("registry:5000/team/nginx", None, False),  # the port is not a tag
        ("registry:5000/team/nginx:1.2", None, True),
        ("nginx:1.25", None, True),
        ("nginx@sha256:" + "a" * 64, None, True),  # digest only: defaults to IfNotPresent
        ("nginx:latest@sha256:" + "a" * 64, None, False),
        ("${IMAGE}", None, True),  # unknown until deploy time
        ("nginx:latest", "IfNotPresent", True),
        ("nginx", '""', False),  # empty is defaulted like missing
    ],
)
def test_changes_runtime(image: str, policy: str | None, changes_runtime: bool) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    text += f"  - name: a\n    image: '{image}'\n"
    if policy is not None:
        text += f"    imagePullPolicy: {policy}\n"
    (finding,) = findings(text)
    assert finding.changes_runtime is changes_runtime
    assert finding.image == image


def test_finding_fields() -> None:
    text = """\
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: db
      namespace: data
    spec:
      template:
        spec:
          initContainers:
          - name: init
            image: busybox:1.36
            imagePullPolicy: Never
    """
    (finding,) = findings(text, path="db/sts.yaml")
    assert (finding.path, finding.line, finding.column, finding.document) == (
        "db/sts.yaml",
        12,
        26,
        0,
    )
    assert (finding.kind, finding.name, finding.namespace) == ("StatefulSet", "db", "data")
    assert (finding.container_list, finding.container) == ("initContainers", "init")
    assert (finding.image, finding.current, finding.is_never) == ("busybox:1.36", "Never", True)


def test_fingerprint_ignores_line_numbers_but_not_identity() -> None:
    base = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    a = base + "  - {name: a, image: a:1}\n  - {name: b, image: b:1}\n"
    shifted = "# a comment\n\n" + a.replace("a:1", "a:2")
    first, second = findings(a)
    moved, _ = findings(shifted)
    assert first.fingerprint == moved.fingerprint
    assert first.fingerprint != second.fingerprint
    assert findings(a, path="other.yaml")[0].fingerprint != first.fingerprint


POLICIES_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: never, image: a:1, imagePullPolicy: Never}
  - {name: digest, image: "b@sha256:00000000000000000000000000000000000000000000000000000000000"}
  - {name: latest, image: c}
  initContainers:
  - {name: init, image: d:1}
  ephemeralContainers:
  - {name: debug, image: e:1}
"""


def test_rule_switches() -> None:
    everything = names(POLICIES_POD)
    assert everything == [
        "containers/never",
        "containers/digest",
        "containers/latest",
        "initContainers/init",
        "ephemeralContainers/debug",
    ]
    relaxed = Config(
        rules=Rules(
            never=NeverPolicy.KEEP,
            digests=DigestPolicy.EXEMPT,
            explicit=False,
            init_containers=False,
            ephemeral_containers=False,
        )
    )
    assert names(POLICIES_POD, relaxed) == []
    report = check_manifest("p.yaml", POLICIES_POD.encode(), relaxed)
    assert sorted(e.reason for e in report.exempted) == [
        "rules.digests: exempt",
        "rules.never: keep",
    ]
    assert names(POLICIES_POD, Config(rules=Rules(containers=False))) == [
        "initContainers/init",
        "ephemeralContainers/debug",
    ]
