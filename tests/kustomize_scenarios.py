"""Small kustomize trees, one per way a rendered container's pull policy is decided, with the
finding and the fixed file each one must give (the core tests render them with a fake engine,
the engine tests with kubectl)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from workers.core.detect import ALWAYS
from workers.core.findings import Source

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          imagePullPolicy: Always
"""

BASE = {
    "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "base/deployment.yaml": DEPLOYMENT,
}


@dataclass(frozen=True)
class Scenario:
    files: Mapping[str, str]
    path: str  # where the finding is reported and fixed
    line: int
    column: int
    source: Source
    container: str
    current: str | None
    fixed: str  # the whole fixed file at `path`


SMP_FILE = Scenario(
    files={
        **BASE,
        "overlay/kustomization.yaml": "resources:\n  - ../base\npatches:\n  - path: policy.yaml\n",
        "overlay/policy.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
            "  template:\n    spec:\n      containers:\n        - name: app\n"
            "          imagePullPolicy: IfNotPresent  # cached\n"
        ),
    },
    path="overlay/policy.yaml",
    line=10,
    column=28,
    source=Source.MANIFEST,
    container="app",
    current="IfNotPresent",
    fixed=(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: app\n"
        "          imagePullPolicy: Always  # cached\n"
    ),
)

INLINE_KUSTOMIZATION = """\
resources:
  - ../base
namePrefix: dev-
patches:
  - target:
      kind: Deployment
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        template:
          spec:
            containers:
              - name: app
                imagePullPolicy: "Never"
"""

INLINE_SMP = Scenario(
    files={**BASE, "overlay/kustomization.yaml": INLINE_KUSTOMIZATION},
    path="overlay/kustomization.yaml",
    line=17,
    column=34,
    source=Source.KUSTOMIZE_PATCH,
    container="app",
    current="Never",
    fixed=INLINE_KUSTOMIZATION.replace('"Never"', '"Always"'),
)

JSON_REPLACE = Scenario(
    files={
        **BASE,
        "overlay/kustomization.yaml": (
            "resources:\n  - ../base\npatchesJson6902:\n  - target:\n      group: apps\n"
            "      version: v1\n      kind: Deployment\n      name: web\n    path: ops.yaml\n"
        ),
        "overlay/ops.yaml": (
            "- op: replace\n  path: /spec/template/spec/containers/0/imagePullPolicy\n"
            "  value: IfNotPresent\n"
        ),
    },
    path="overlay/ops.yaml",
    line=3,
    column=10,
    source=Source.KUSTOMIZE_PATCH,
    container="app",
    current="IfNotPresent",
    fixed=(
        "- op: replace\n  path: /spec/template/spec/containers/0/imagePullPolicy\n  value: Always\n"
    ),
)

ADD_KUSTOMIZATION = """\
resources:
- ../base
patches:
- target:
    kind: Deployment
    name: web
  patch: |
    - op: add
      path: /spec/template/spec/containers/-
      value:
        name: sidecar
        image: busybox:1.36
        args: [sleep, infinity]
"""

JSON_ADD_CONTAINER = Scenario(
    files={**BASE, "overlay/kustomization.yaml": ADD_KUSTOMIZATION},
    path="overlay/kustomization.yaml",
    line=12,
    column=9,
    source=Source.KUSTOMIZE_PATCH,
    container="sidecar",
    current=None,
    fixed=ADD_KUSTOMIZATION.replace(
        "image: busybox:1.36\n", "image: busybox:1.36\n        imagePullPolicy: Always\n"
    ),
)

SCENARIOS = {
    "strategic-merge patch file": SMP_FILE,
    "inline strategic-merge patch": INLINE_SMP,
    "JSON 6902 replace": JSON_REPLACE,
    "JSON 6902 add of a container": JSON_ADD_CONTAINER,
}

# The base resource decides: the manifest scan reports and fixes it; the render only verifies.
BASE_DECIDES = {
    "base/kustomization.yaml": BASE["base/kustomization.yaml"],
    "base/deployment.yaml": DEPLOYMENT.replace("Always", "IfNotPresent"),
    "overlay/kustomization.yaml": "resources:\n  - ../base\nnameSuffix: -prod\n",
}

SIDECAR = """\
        - name: sidecar
          image: busybox:1.36
          args: [sleep, infinity]
"""


def fake_render(scenario: Scenario) -> Callable[[Mapping[str, bytes], str], dict[str, str]]:
    """A stand-in for kustomize over one scenario's tree: the base Deployment, whose container
    says what the scenario's site says (its policy before the fix, Always after it)."""

    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        text = DEPLOYMENT
        if root == "overlay":
            site = files[scenario.path].decode()
            fixed = site == scenario.fixed
            assert fixed or site == scenario.files[scenario.path], "an unexpected edit"
            policy = ALWAYS if fixed else scenario.current
            if scenario.container == "sidecar":
                line = f"          imagePullPolicy: {policy}\n" if policy else ""
                text += SIDECAR + line
            else:
                text = text.replace("imagePullPolicy: Always", f"imagePullPolicy: {policy}")
        return {root: text}

    return render


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


JSON_ADD_CONTAINER_CRLF = Scenario(
    files={**BASE, "overlay/kustomization.yaml": _crlf(ADD_KUSTOMIZATION)},
    path="overlay/kustomization.yaml",
    line=12,
    column=9,
    source=Source.KUSTOMIZE_PATCH,
    container="sidecar",
    current=None,
    fixed=_crlf(JSON_ADD_CONTAINER.fixed),
)

JSON_FILE_REPLACE = Scenario(
    files={
        **BASE,
        "overlay/kustomization.yaml": (
            "resources: [../base]\npatches:\n  - target: {kind: Deployment, name: web}\n"
            "    path: ops.json\n"
        ),
        "overlay/ops.json": (
            '[\n  {"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy",'
            '\n   "value": "Never"}\n]\n'
        ),
    },
    path="overlay/ops.json",
    line=3,
    column=13,
    source=Source.KUSTOMIZE_PATCH,
    container="app",
    current="Never",
    fixed=(
        '[\n  {"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy",'
        '\n   "value": "Always"}\n]\n'
    ),
)

SCENARIOS["JSON 6902 add of a container, CRLF"] = JSON_ADD_CONTAINER_CRLF
SCENARIOS["JSON 6902 replace in a JSON file"] = JSON_FILE_REPLACE
