"""Checks of the Kubernetes manifests: the API schemas (offline), then what no schema can see —
references between objects, and agreement with the CLI, the settings and the image."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubernetes_validate import (  # type: ignore[import-untyped]
    SchemaNotFoundError,
    ValidationError,
    validate,
)

from tests.deploy.artefacts import Document, is_bot_image
from tests.deploy.contract import (
    LIVENESS_PATH,
    READINESS_PATH,
    InvalidInvocation,
    parse_invocation,
    serve_problems,
    unknown_settings,
    url_hosts,
)

# A recent release kubernetes-validate ships schemas for; strict: unknown fields are errors.
KUBERNETES_VERSION = "1.34"
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
REDIS_DATA_DIR = "/data"  # the official redis image's working directory


def describe(document: Document) -> str:
    name = document.get("metadata", {}).get("name", "?")
    return f"{document.get('kind', '?')}/{name}"


def schema_problems(document: Document) -> list[str]:
    """The object against the Kubernetes OpenAPI schema of KUBERNETES_VERSION, strictly."""
    if not isinstance(document.get("apiVersion"), str) or not isinstance(document.get("kind"), str):
        return [f"{describe(document)}: apiVersion and kind must be strings"]
    try:
        validate(document, KUBERNETES_VERSION, strict=True)
    except ValidationError as error:
        path = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        return [f"{describe(document)}: {path}: {error.message}"]
    except SchemaNotFoundError as error:
        return [f"{describe(document)}: {error.message}"]
    return []


def workloads(documents: list[Document]) -> list[Document]:
    return [document for document in documents if document.get("kind") in WORKLOAD_KINDS]


def of_kind(documents: list[Document], kind: str) -> dict[str, Document]:
    return {
        document["metadata"]["name"]: document
        for document in documents
        if document.get("kind") == kind
    }


def pod_spec(workload: Document) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Document) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def bot_containers(documents: list[Document]) -> Iterator[tuple[Document, dict[str, Any]]]:
    for workload in workloads(documents):
        for container in containers(workload):
            if is_bot_image(container.get("image", "")):
                yield workload, container


def bot_container_problems(documents: list[Document]) -> list[str]:
    """The bot's containers: one image, the image's `pullpolicy` entrypoint, valid args; the
    receiver reachable on its container port and probed on its liveness/readiness endpoints."""
    problems: list[str] = []
    images = {container["image"] for _, container in bot_containers(documents)}
    if len(images) > 1:
        problems.append(f"the bot's containers run different images: {sorted(images)}")
    for workload, container in bot_containers(documents):
        where = f"{describe(workload)} container {container['name']}"
        if container.get("command", ["pullpolicy"]) != ["pullpolicy"]:
            problems.append(f"{where}: command replaces the image's `pullpolicy` entrypoint")
        try:
            invocation = parse_invocation(container.get("args") or [])
        except InvalidInvocation as error:
            problems.append(f"{where}: args: {error}")
            continue
        if invocation.command == "serve":
            ports = [port["containerPort"] for port in container.get("ports", [])]
            port = ports[0] if len(ports) == 1 else None
            problems.extend(serve_problems(where, invocation, port))
            problems.extend(_probe_problems(where, container, invocation.port))
    return problems


def _probe_problems(where: str, container: dict[str, Any], port: int) -> list[str]:
    problems = []
    named_ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    for probe_name, path in (("livenessProbe", LIVENESS_PATH), ("readinessProbe", READINESS_PATH)):
        http = container.get(probe_name, {}).get("httpGet")
        if http is None:
            problems.append(f"{where}: {probe_name} must be an httpGet of {path}")
            continue
        if http.get("path") != path:
            problems.append(f"{where}: {probe_name} asks {http.get('path')}, not {path}")
        probed = named_ports.get(http.get("port"), http.get("port"))
        if probed != port:
            problems.append(f"{where}: {probe_name} asks port {http.get('port')}, not {port}")
    return problems


def selector_problems(documents: list[Document]) -> list[str]:
    """Each workload's selector matches its own pod template."""
    problems = []
    for workload in workloads(documents):
        wanted = workload["spec"].get("selector", {}).get("matchLabels", {})
        labels = workload["spec"]["template"].get("metadata", {}).get("labels", {})
        if not wanted or any(labels.get(key) != value for key, value in wanted.items()):
            problems.append(f"{describe(workload)}: selector {wanted} misses its labels {labels}")
    return problems


def service_problems(documents: list[Document]) -> list[str]:
    """Each Service selects pods of this file, on ports those pods declare."""
    problems = []
    for name, service in of_kind(documents, "Service").items():
        selector = service["spec"].get("selector")
        if not selector:
            continue
        selected = [
            workload
            for workload in workloads(documents)
            if _labels_match(selector, workload["spec"]["template"])
        ]
        if not selected:
            problems.append(f"Service/{name}: selector {selector} selects no pod of this file")
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort", port.get("port"))
            for workload in selected:
                declared = [p for c in containers(workload) for p in c.get("ports", [])]
                if not any(target in (p.get("name"), p["containerPort"]) for p in declared):
                    problems.append(f"Service/{name}: {describe(workload)} has no port {target}")
    return problems


def _labels_match(selector: dict[str, str], template: Document) -> bool:
    labels = template.get("metadata", {}).get("labels", {})
    return all(labels.get(key) == value for key, value in selector.items())


def stateful_set_problems(documents: list[Document]) -> list[str]:
    """A StatefulSet's serviceName is a headless Service of this file (its pods' identity)."""
    services = of_kind(documents, "Service")
    problems = []
    for name, stateful_set in of_kind(documents, "StatefulSet").items():
        governing = services.get(stateful_set["spec"].get("serviceName", ""))
        if governing is None:
            problems.append(f"StatefulSet/{name}: serviceName names no Service of this file")
        elif governing["spec"].get("clusterIP") != "None":
            problems.append(f"StatefulSet/{name}: its Service must be headless (clusterIP: None)")
    return problems


def autoscaler_problems(documents: list[Document]) -> list[str]:
    """An HPA scales a workload of this file, whose containers request what it measures."""
    problems = []
    for name, autoscaler in of_kind(documents, "HorizontalPodAutoscaler").items():
        reference = autoscaler["spec"]["scaleTargetRef"]
        target = of_kind(documents, reference["kind"]).get(reference["name"])
        if target is None or target.get("apiVersion") != reference.get("apiVersion"):
            problems.append(f"HorizontalPodAutoscaler/{name}: no target {reference}")
            continue
        for metric in autoscaler["spec"].get("metrics", []):
            if metric.get("type") != "Resource":
                continue
            resource = metric["resource"]["name"]
            for container in containers(target):
                if resource not in container.get("resources", {}).get("requests", {}):
                    problems.append(
                        f"HorizontalPodAutoscaler/{name}: container {container['name']} of "
                        f"{describe(target)} requests no {resource} to measure utilisation against"
                    )
    return problems


def reference_problems(documents: list[Document]) -> list[str]:
    """Secrets, ConfigMaps and volumes that containers use exist."""
    sources = {
        "secretRef": of_kind(documents, "Secret"),
        "configMapRef": of_kind(documents, "ConfigMap"),
    }
    problems = []
    for workload in workloads(documents):
        volumes = {volume["name"] for volume in pod_spec(workload).get("volumes", [])}
        volumes |= {
            claim["metadata"]["name"] for claim in workload["spec"].get("volumeClaimTemplates", [])
        }
        for container in containers(workload):
            where = f"{describe(workload)} container {container['name']}"
            for source in container.get("envFrom", []):
                for kind, found in sources.items():
                    reference = source.get(kind)
                    if (
                        reference
                        and not reference.get("optional")
                        and reference["name"] not in found
                    ):
                        problems.append(f"{where}: envFrom {kind} {reference['name']} is not here")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"{where}: mounts undeclared volume {mount['name']}")
    return problems


def settings_problems(documents: list[Document]) -> list[str]:
    """What the bot reads from its environment are real settings, pointing at Services here."""
    secrets = of_kind(documents, "Secret")
    services = set(of_kind(documents, "Service"))
    problems: list[str] = []
    for workload, container in bot_containers(documents):
        where = f"{describe(workload)} container {container['name']}"
        values = {entry["name"]: entry.get("value") for entry in container.get("env", [])}
        for source in container.get("envFrom", []):
            secret = secrets.get(source.get("secretRef", {}).get("name", ""), {})
            values.update({**secret.get("data", {}), **secret.get("stringData", {})})
        problems.extend(f"{where}: {name} is no setting" for name in unknown_settings(values))
        for host in sorted(url_hosts(values.values())):
            if host.split(".", 1)[0] not in services:
                problems.append(f"{where}: {host} is no Service of this file")
    return problems


def persistence_problems(documents: list[Document]) -> list[str]:
    """A Redis told to persist (`--appendonly yes`) keeps its data on a claimed volume."""
    problems = []
    for workload in workloads(documents):
        claims = {c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])}
        for container in containers(workload):
            args = [str(arg) for arg in container.get("args", [])]
            if not container.get("image", "").startswith("redis") or "--appendonly" not in args:
                continue
            mounts = {
                m["mountPath"].rstrip("/"): m["name"] for m in container.get("volumeMounts", [])
            }
            if mounts.get(REDIS_DATA_DIR) not in claims:
                problems.append(
                    f"{describe(workload)} container {container['name']}: appends to "
                    f"{REDIS_DATA_DIR} without a volumeClaimTemplate mounted there"
                )
    return problems


def security_problems(documents: list[Document], image_uid: int | None) -> list[str]:
    """Bot pods refuse root and, when they name a uid, name the image's."""
    problems: list[str] = []
    for workload in {id(w): w for w, _ in bot_containers(documents)}.values():
        context = pod_spec(workload).get("securityContext", {})
        if context.get("runAsNonRoot") is not True:
            problems.append(f"{describe(workload)}: securityContext.runAsNonRoot must be true")
        if "runAsUser" in context and context["runAsUser"] != image_uid:
            problems.append(
                f"{describe(workload)}: runAsUser {context['runAsUser']} is not the image's "
                f"USER {image_uid}"
            )
    return problems


SEMANTIC_CHECKS = (
    bot_container_problems,
    selector_problems,
    service_problems,
    stateful_set_problems,
    autoscaler_problems,
    reference_problems,
    settings_problems,
    persistence_problems,
)
