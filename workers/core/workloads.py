"""Where the containers of each Kubernetes workload kind live (DETECTION.md's table)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workers.core.yamldoc import NULL_TAG, entries, get, scalar, sequence_items

Path = tuple[str | int, ...]

# Config switches (workers.config.model.Rules) that turn container lists on and off.
CONTAINERS = "containers"
INIT_CONTAINERS = "init_containers"
EPHEMERAL_CONTAINERS = "ephemeral_containers"

POD_LISTS = (
    ("containers", CONTAINERS),
    ("initContainers", INIT_CONTAINERS),
    ("ephemeralContainers", EPHEMERAL_CONTAINERS),
)

# kind -> path from the object to its pod template (the pod spec is `<template>.spec`).
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "DaemonSet",
            "ReplicationController",
            "Job",
            "DeploymentConfig",
        ),
        ("spec", "template"),
    ),
    "PodTemplate": ("template",),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
ARGO_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Workflow": ("spec", "templates"),
    "WorkflowTemplate": ("spec", "templates"),
    "ClusterWorkflowTemplate": ("spec", "templates"),
    "CronWorkflow": ("spec", "workflowSpec", "templates"),
}
TEKTON_GROUP = "tekton.dev"
TEKTON_TASKS: dict[str, tuple[str, ...]] = {  # kind -> path to its task spec
    "Task": ("spec",),
    "ClusterTask": ("spec",),
    "TaskRun": ("spec", "taskSpec"),
}
TEKTON_PIPELINES: dict[str, tuple[str, ...]] = {  # kind -> path to its pipeline spec
    "Pipeline": ("spec",),
    "PipelineRun": ("spec", "pipelineSpec"),
}
ITEMS = "[]"  # in a POD_SPECS pattern: every item of the list
RAY_CLUSTER = (
    (("headGroupSpec", "template", "spec"), "head"),
    (("workerGroupSpecs", ITEMS, "template", "spec"), None),
)
KSERVE_LLM = (
    (("spec", "template"), None),
    (("spec", "worker"), "worker"),
    (("spec", "prefill", "template"), "prefill"),
    (("spec", "prefill", "worker"), "prefill-worker"),
    (("spec", "router", "scheduler", "template"), "scheduler"),
)
TRAINING_RUNTIME = (
    (
        (
            "spec",
            "template",
            "spec",
            "replicatedJobs",
            ITEMS,
            "template",
            "spec",
            "template",
            "spec",
        ),
        None,
    ),
)
# (API group, kind) -> (path to a pod spec, label naming that pod) for custom resources that
# embed pod specs (README "What counts as a finding" lists them).
POD_SPECS: dict[tuple[str, str], tuple[tuple[tuple[str, ...], str | None], ...]] = {
    ("core.strimzi.io", "StrimziPodSet"): ((("spec", "pods", ITEMS, "spec"), None),),
    ("ray.io", "RayCluster"): tuple((("spec", *where), label) for where, label in RAY_CLUSTER),
    ("ray.io", "RayJob"): tuple(
        (("spec", "rayClusterSpec", *where), label) for where, label in RAY_CLUSTER
    ),
    ("ray.io", "RayService"): tuple(
        (("spec", "rayClusterConfig", *where), label) for where, label in RAY_CLUSTER
    ),
    ("jobset.x-k8s.io", "JobSet"): (
        (("spec", "replicatedJobs", ITEMS, "template", "spec", "template", "spec"), None),
    ),
    ("trainer.kubeflow.org", "TrainingRuntime"): TRAINING_RUNTIME,
    ("trainer.kubeflow.org", "ClusterTrainingRuntime"): TRAINING_RUNTIME,
    ("serving.kserve.io", "ServingRuntime"): (
        (("spec",), None),
        (("spec", "workerSpec"), "worker"),
    ),
    ("serving.kserve.io", "ClusterServingRuntime"): (
        (("spec",), None),
        (("spec", "workerSpec"), "worker"),
    ),
    ("serving.kserve.io", "LLMInferenceService"): KSERVE_LLM,
    ("serving.kserve.io", "LLMInferenceServiceConfig"): KSERVE_LLM,
}
# (API group, kind) -> path to the one container the resource defines (injected into pods).
SINGLE_CONTAINERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("serving.kserve.io", "ClusterStorageContainer"): ("spec", "container"),
}
NEVER_WORKLOADS = frozenset(
    {"ConfigMap", "Secret", "CustomResourceDefinition", "Kustomization", "Component"}
)
MAX_LIST_DEPTH = 8  # List inside List inside ...: deeper is not a real manifest


@dataclass(frozen=True)
class Container:
    node: MappingNode
    list_name: str  # as written in the manifest: "containers", "initContainers", "sidecars", ...
    switch: str  # the Rules field that enables this list
    index: int | None  # position in its list; None for Argo's single `container`/`script`
    path: Path  # from the document root to the container mapping
    pod_annotations: tuple[tuple[str, str], ...] = ()  # its pod template's metadata.annotations
    # What names the container beside its own name: an Argo template, a Tekton pipeline task,
    # a Ray worker group... Two pod specs of one object may both hold a container `main`.
    owner: str | None = None
    # Tekton's stepTemplate: a step's missing fields (image, imagePullPolicy) come from it.
    defaults: MappingNode | None = None
    defaults_path: Path | None = None


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    namespace: str | None
    path: Path  # from the document root to the object
    annotations: dict[str, str]  # the object's metadata.annotations
    containers: tuple[Container, ...]
    problems: tuple[str, ...] = ()  # container lists written so that nothing can be checked


def workloads(document: Node | None) -> Iterator[Workload]:
    yield from _objects(document, (), 0)


def _objects(node: Node | None, path: Path, depth: int) -> Iterator[Workload]:
    api_version, kind = scalar(get(node, "apiVersion")), scalar(get(node, "kind"))
    if not isinstance(node, MappingNode) or not api_version or not kind:
        return
    if kind == "List" or kind.endswith("List"):
        if depth < MAX_LIST_DEPTH:
            for index, item in enumerate(sequence_items(get(node, "items"))):
                yield from _objects(item, (*path, "items", index), depth + 1)
        return
    if kind in NEVER_WORKLOADS:
        return
    containers = _containers(node, kind, api_version, path)
    problems = malformed_lists(node, kind)
    if not containers and not problems:
        return
    metadata = get(node, "metadata")
    yield Workload(
        kind=kind,
        name=scalar(get(metadata, "name")) or scalar(get(metadata, "generateName")) or "",
        namespace=scalar(get(metadata, "namespace")),
        path=path,
        annotations=annotations_of(metadata),
        containers=tuple(containers),
        problems=tuple(problems),
    )


def malformed_lists(obj: MappingNode, kind: str) -> list[str]:
    """Why a Pod or templated workload holds containers nobody can check: a list that is not a
    list of mappings (`containers: 3`), or a Pod without `containers` (Kubernetes requires
    it). Templated kinds may omit it: kustomize patches often do."""
    template = ("spec",) if kind == "Pod" else TEMPLATE_PATHS.get(kind)
    if template is None:
        return []
    where = ".".join(template if kind == "Pod" else (*template, "spec"))
    spec = entries(get(obj, *template) if kind == "Pod" else get(obj, *template, "spec"))
    problems: list[str] = []
    if kind == "Pod" and "containers" not in spec:
        problems.append(f"{where}.containers is missing")
    for list_name, _ in POD_LISTS:
        node = spec[list_name].value if list_name in spec else None
        if node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG):
            continue
        if not isinstance(node, SequenceNode) or not all(
            isinstance(item, MappingNode) for item in node.value
        ):
            problems.append(f"{where}.{list_name} is not a list of containers")
    return problems


def _containers(obj: MappingNode, kind: str, api_version: str, path: Path) -> list[Container]:
    group = api_version.partition("/")[0] if "/" in api_version else ""
    if kind in ARGO_TEMPLATES and group == "argoproj.io":
        return _argo_containers(obj, ARGO_TEMPLATES[kind], path)
    if group == TEKTON_GROUP and kind in TEKTON_TASKS:
        return _tekton_task(get(obj, *TEKTON_TASKS[kind]), (*path, *TEKTON_TASKS[kind]), None)
    if group == TEKTON_GROUP and kind in TEKTON_PIPELINES:
        where = TEKTON_PIPELINES[kind]
        return _tekton_pipeline(get(obj, *where), (*path, *where))
    if (group, kind) in SINGLE_CONTAINERS:
        where = SINGLE_CONTAINERS[group, kind]
        node = get(obj, *where)
        if not isinstance(node, MappingNode):
            return []
        return [Container(node, where[-1], CONTAINERS, None, (*path, *where))]
    if (group, kind) in POD_SPECS:
        return [
            container
            for pattern, label in POD_SPECS[group, kind]
            for container in _pod_specs_at(obj, path, pattern, label)
        ]
    if kind == "Pod":
        return _pod_spec_containers(get(obj, "spec"), (*path, "spec"), {})
    template = TEMPLATE_PATHS.get(kind, ("spec", "template"))
    template_node = get(obj, *template)
    spec = get(template_node, "spec")
    if kind not in TEMPLATE_PATHS and not sequence_items(get(spec, "containers")):
        return []  # generic fallback only when the template really holds containers
    pod_annotations = annotations_of(get(template_node, "metadata"))
    return _pod_spec_containers(spec, (*path, *template, "spec"), pod_annotations)


def _pod_spec_containers(
    spec: Node | None, path: Path, pod_annotations: dict[str, str], owner: str | None = None
) -> list[Container]:
    found: list[Container] = []
    spec_entries = entries(spec)
    for list_name, switch in POD_LISTS:
        if list_name in spec_entries:
            items = spec_entries[list_name].value
            found.extend(
                _list(items, list_name, switch, (*path, list_name), pod_annotations, owner)
            )
    return found


def _list(
    node: Node,
    list_name: str,
    switch: str,
    path: Path,
    pod_annotations: dict[str, str],
    owner: str | None = None,
) -> Iterator[Container]:
    frozen = tuple(pod_annotations.items())
    for index, item in enumerate(sequence_items(node)):
        if isinstance(item, MappingNode):
            yield Container(item, list_name, switch, index, (*path, index), frozen, owner)


def _pod_specs_at(
    obj: MappingNode, path: Path, pattern: tuple[str, ...], label: str | None
) -> Iterator[Container]:
    """Pod specs at `pattern` ("[]" walks each item of a list, named by its own name)."""
    # (node, its path, owner name, the mapping that holds it)
    places: list[tuple[Node | None, Path, str | None, Node | None]] = [(obj, path, label, None)]
    for part in pattern:
        if part == ITEMS:
            places = [
                (item, (*where, index), _item_name(item, index, owner), node)
                for node, where, owner, _ in places
                for index, item in enumerate(sequence_items(node))
            ]
        else:
            places = [
                (get(node, part), (*where, part), owner, node) for node, where, owner, _ in places
            ]
    for spec, where, owner, parent in places:
        # A pod template's annotations sit beside its `spec`; a bare pod spec has none.
        metadata = get(parent, "metadata") if pattern[-1] == "spec" else None
        yield from _pod_spec_containers(spec, where, annotations_of(metadata), owner)


def _item_name(item: Node, index: int, outer: str | None) -> str:
    name = (
        scalar(get(item, "name"))
        or scalar(get(item, "groupName"))
        or scalar(get(item, "metadata", "name"))
        or f"#{index}"
    )
    return f"{outer}/{name}" if outer else name


def _tekton_pipeline(spec: Node | None, path: Path) -> list[Container]:
    found: list[Container] = []
    for section in ("tasks", "finally"):
        for index, task in enumerate(sequence_items(get(spec, section))):
            name = scalar(get(task, "name")) or f"{section}#{index}"
            found.extend(
                _tekton_task(get(task, "taskSpec"), (*path, section, index, "taskSpec"), name)
            )
    return found


def _tekton_task(spec: Node | None, path: Path, owner: str | None) -> list[Container]:
    """Steps and sidecars of a Tekton task spec; steps inherit what stepTemplate sets."""
    spec_entries = entries(spec)
    template = spec_entries.get("stepTemplate")
    defaults = template.value if template and isinstance(template.value, MappingNode) else None
    found: list[Container] = []
    for list_name in ("steps", "sidecars"):
        if list_name not in spec_entries:
            continue
        for index, item in enumerate(sequence_items(spec_entries[list_name].value)):
            if not isinstance(item, MappingNode):
                continue
            inherits = defaults if list_name == "steps" else None
            found.append(
                Container(
                    item,
                    list_name,
                    CONTAINERS,
                    index,
                    (*path, list_name, index),
                    owner=owner,
                    defaults=inherits,
                    defaults_path=(*path, "stepTemplate") if inherits is not None else None,
                )
            )
    return found


def _argo_containers(
    obj: MappingNode, templates_path: tuple[str, ...], path: Path
) -> list[Container]:
    found: list[Container] = []
    for t_index, template in enumerate(sequence_items(get(obj, *templates_path))):
        t_path: Path = (*path, *templates_path, t_index)
        t_entries = entries(template)
        t_name = scalar(get(template, "name")) or f"#{t_index}"
        pod_annotations = annotations_of(get(template, "metadata"))
        for single in ("container", "script"):
            node = t_entries[single].value if single in t_entries else None
            if isinstance(node, MappingNode):
                found.append(
                    Container(
                        node,
                        single,
                        CONTAINERS,
                        None,
                        (*t_path, single),
                        tuple(pod_annotations.items()),
                        owner=t_name,
                    )
                )
        lists = (
            ("initContainers", INIT_CONTAINERS, ("initContainers",)),
            ("sidecars", CONTAINERS, ("sidecars",)),
            ("containerSet.containers", CONTAINERS, ("containerSet", "containers")),
        )
        for list_name, switch, where in lists:
            items = get(template, *where)
            if items is not None:
                found.extend(
                    _list(items, list_name, switch, (*t_path, *where), pod_annotations, t_name)
                )
    return found


def annotations_of(metadata: Node | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, entry in entries(get(metadata, "annotations")).items():
        value = scalar(entry.value)
        if value is not None:
            result[key] = value
    return result
