"""Where the containers of each Kubernetes workload kind live (DETECTION.md's table)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node

from workers.core.yamldoc import entries, get, scalar, sequence_items

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


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    namespace: str | None
    path: Path  # from the document root to the object
    annotations: dict[str, str]  # the object's metadata.annotations
    containers: tuple[Container, ...]


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
    if not containers:
        return
    metadata = get(node, "metadata")
    yield Workload(
        kind=kind,
        name=scalar(get(metadata, "name")) or scalar(get(metadata, "generateName")) or "",
        namespace=scalar(get(metadata, "namespace")),
        path=path,
        annotations=annotations_of(metadata),
        containers=tuple(containers),
    )


def _containers(obj: MappingNode, kind: str, api_version: str, path: Path) -> list[Container]:
    if kind in ARGO_TEMPLATES and api_version.startswith("argoproj.io/"):
        return _argo_containers(obj, ARGO_TEMPLATES[kind], path)
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
    spec: Node | None, path: Path, pod_annotations: dict[str, str]
) -> list[Container]:
    found: list[Container] = []
    spec_entries = entries(spec)
    for list_name, switch in POD_LISTS:
        if list_name in spec_entries:
            items = spec_entries[list_name].value
            found.extend(_list(items, list_name, switch, (*path, list_name), pod_annotations))
    return found


def _list(
    node: Node, list_name: str, switch: str, path: Path, pod_annotations: dict[str, str]
) -> Iterator[Container]:
    frozen = tuple(pod_annotations.items())
    for index, item in enumerate(sequence_items(node)):
        if isinstance(item, MappingNode):
            yield Container(item, list_name, switch, index, (*path, index), frozen)


def _argo_containers(
    obj: MappingNode, templates_path: tuple[str, ...], path: Path
) -> list[Container]:
    found: list[Container] = []
    for t_index, template in enumerate(sequence_items(get(obj, *templates_path))):
        t_path: Path = (*path, *templates_path, t_index)
        t_entries = entries(template)
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
                found.extend(_list(items, list_name, switch, (*t_path, *where), pod_annotations))
    return found


def annotations_of(metadata: Node | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, entry in entries(get(metadata, "annotations")).items():
        value = scalar(entry.value)
        if value is not None:
            result[key] = value
    return result
