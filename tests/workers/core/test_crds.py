"""Containers outside `spec.template.spec`: Tekton tasks and pipelines, Argo templates named
by template, StrimziPodSet and the other custom resources that embed pod specs."""

from __future__ import annotations

import textwrap

import pytest

from workers.config.model import Config, Exemptions
from workers.core.findings import FileReport
from workers.core.manifest import check_manifest
from workers.core.workloads import POD_SPECS, SINGLE_CONTAINERS


def report_of(text: str, config: Config | None = None) -> FileReport:
    return check_manifest("m.yaml", textwrap.dedent(text).encode(), config or Config())


def names(text: str, config: Config | None = None) -> list[str]:
    report = report_of(text, config)
    assert report.skipped is None, report.skipped
    return [f"{f.kind}:{f.container_list}/{f.container}" for f in report.findings]


TASK = """\
apiVersion: tekton.dev/v1
kind: {kind}
metadata: {{name: t}}
spec:
  {prefix}steps:
  {prefix}- name: build
  {prefix}  image: golang:1.23
  {prefix}sidecars:
  {prefix}- name: dind
  {prefix}  image: docker:dind
"""


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [("Task", ""), ("ClusterTask", ""), ("TaskRun", "  ")],
)
def test_tekton_task_steps_and_sidecars(kind: str, prefix: str) -> None:
    text = TASK.format(kind=kind, prefix=prefix)
    if kind == "TaskRun":
        text = text.replace("spec:\n", "spec:\n  taskSpec:\n", 1)
    assert names(text) == [f"{kind}:steps/build", f"{kind}:sidecars/dind"]


def test_a_task_without_the_words_container_or_script_is_still_read() -> None:
    text = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n"
    text += "  steps: [{name: s, image: alpine:3}]\n"
    assert names(text) == ["Task:steps/s"]


def test_tekton_pipelines_name_steps_by_pipeline_task() -> None:
    text = """\
    apiVersion: tekton.dev/v1
    kind: Pipeline
    metadata: {name: p}
    spec:
      tasks:
      - name: fetch
        taskRef: {name: git-clone}
      - name: compile
        taskSpec:
          steps: [{name: go, image: golang:1.23}]
          sidecars: [{name: db, image: postgres:16}]
      finally:
      - name: notify
        taskSpec:
          steps: [{name: post, image: curl:8}]
    ---
    apiVersion: tekton.dev/v1beta1
    kind: PipelineRun
    metadata: {generateName: run-}
    spec:
      pipelineSpec:
        tasks:
        - name: test
          taskSpec:
            steps: [{image: python:3.12}]
    """
    assert names(text) == [
        "Pipeline:steps/compile/go",
        "Pipeline:sidecars/compile/db",
        "Pipeline:steps/notify/post",
        "PipelineRun:steps/test/#0",
    ]


def test_a_step_inherits_image_and_policy_from_its_step_template() -> None:
    text = """\
    apiVersion: tekton.dev/v1
    kind: Task
    metadata: {name: t}
    spec:
      stepTemplate: {image: alpine:3, imagePullPolicy: Always}
      steps:
      - name: inherits
        script: echo
      - name: own-image
        image: golang:1.23
      - name: overrides
        image: golang:1.23
        imagePullPolicy: IfNotPresent
      sidecars:
      - name: not-a-step
        image: redis:7
    """
    assert names(text) == ["Task:steps/overrides", "Task:sidecars/not-a-step"]


def test_tekton_kinds_of_other_groups_are_not_tekton() -> None:
    text = "apiVersion: example.com/v1\nkind: Task\nmetadata: {name: t}\nspec:\n"
    text += "  steps: [{name: s, image: alpine:3}]\n"
    assert names(text) == []


def test_argo_containers_are_named_by_template() -> None:
    text = """\
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {name: wf}
    spec:
      templates:
      - name: build
        container: {image: golang:1.23}
        sidecars: [{name: cache, image: redis:7}]
      - name: test
        container: {image: golang:1.23}
        sidecars: [{name: cache, image: redis:7}]
      - script: {image: python:3.12, source: print()}
    """
    report = report_of(text)
    assert [f.container for f in report.findings] == [
        "build",
        "build/cache",
        "test",
        "test/cache",
        "#2",
    ]
    # Two templates' containers are two findings with two identities.
    assert len({f.fingerprint for f in report.findings}) == len(report.findings)


def test_container_exemption_by_own_name_still_applies_to_named_sidecars() -> None:
    text = """\
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {name: wf}
    spec:
      templates:
      - name: build
        container: {image: golang:1.23, imagePullPolicy: Always}
        sidecars: [{name: cache, image: redis:7}]
    """
    config = Config(exempt=Exemptions(containers=("cache",)))
    report = report_of(text, config)
    assert report.findings == ()
    assert [e.finding.container for e in report.exempted] == ["build/cache"]


def test_strimzi_pod_set_pods() -> None:
    text = """\
    apiVersion: core.strimzi.io/v1beta2
    kind: StrimziPodSet
    metadata: {name: my-cluster-kafka}
    spec:
      selector: {matchLabels: {a: b}}
      pods:
      - apiVersion: v1
        kind: Pod
        metadata: {name: my-cluster-kafka-0}
        spec:
          containers: [{name: kafka, image: quay.io/strimzi/kafka:0.45.0-kafka-3.9.0}]
      - apiVersion: v1
        kind: Pod
        metadata:
          name: my-cluster-kafka-1
          annotations: {polaris.fairwinds.com/exempt: "true"}
        spec:
          containers: [{name: kafka, image: quay.io/strimzi/kafka:0.45.0-kafka-3.9.0}]
    """
    report = report_of(text)
    assert [f.container for f in report.findings] == ["my-cluster-kafka-0/kafka"]
    assert [e.finding.container for e in report.exempted] == ["my-cluster-kafka-1/kafka"]


POD_SPEC_KINDS = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: ray}
spec:
  headGroupSpec:
    template:
      spec:
        containers: [{name: ray-head, image: rayproject/ray:2.9.0}]
  workerGroupSpecs:
  - groupName: small
    template:
      spec:
        containers: [{name: ray-worker, image: rayproject/ray:2.9.0}]
---
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  replicatedJobs:
  - name: workers
    template:
      spec:
        template:
          spec:
            containers: [{name: w, image: busybox:1}]
---
apiVersion: trainer.kubeflow.org/v1alpha1
kind: ClusterTrainingRuntime
metadata: {name: torch}
spec:
  template:
    spec:
      replicatedJobs:
      - name: node
        template:
          spec:
            template:
              spec:
                containers: [{name: node, image: pytorch/pytorch:2.7.1}]
---
apiVersion: serving.kserve.io/v1alpha1
kind: ClusterServingRuntime
metadata: {name: sr}
spec:
  containers: [{name: kserve-container, image: kserve/sklearnserver:v0.15}]
  workerSpec:
    containers: [{name: worker-container, image: kserve/huggingfaceserver:v0.15}]
---
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceServiceConfig
metadata: {name: llm}
spec:
  template:
    containers: [{name: main, image: vllm/vllm-openai:v0.8}]
  prefill:
    worker:
      containers: [{name: main, image: vllm/vllm-openai:v0.8}]
  router:
    scheduler:
      template:
        initContainers: [{name: init, image: busybox:1}]
---
apiVersion: serving.kserve.io/v1alpha1
kind: ClusterStorageContainer
metadata: {name: default}
spec:
  container: {name: storage-initializer, image: kserve/storage-initializer:v0.16.0}
"""


def test_custom_resources_that_embed_pod_specs() -> None:
    assert names(POD_SPEC_KINDS) == [
        "RayCluster:containers/head/ray-head",
        "RayCluster:containers/small/ray-worker",
        "JobSet:containers/workers/w",
        "ClusterTrainingRuntime:containers/node/node",
        "ClusterServingRuntime:containers/kserve-container",
        "ClusterServingRuntime:containers/worker/worker-container",
        "LLMInferenceServiceConfig:containers/main",
        "LLMInferenceServiceConfig:containers/prefill-worker/main",
        "LLMInferenceServiceConfig:initContainers/scheduler/init",
        "ClusterStorageContainer:container/storage-initializer",
    ]


def test_every_custom_resource_is_keyed_by_its_api_group() -> None:
    for group, kind in [*POD_SPECS, *SINGLE_CONTAINERS]:
        assert "." in group and kind[:1].isupper()
