"""deploy/kubernetes: valid against the Kubernetes API schemas (offline, strict), and consistent
with itself, the CLI, the settings and the image."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.artefacts import DOCKERFILE, Document, kubernetes_documents
from tests.deploy.contract import REFUSED
from tests.deploy.dockerfile import parse_dockerfile
from tests.deploy.dockerfile_checks import runtime_uid
from tests.deploy.kubernetes_checks import (
    SEMANTIC_CHECKS,
    schema_problems,
    security_problems,
)

Mutation = Callable[[list[Document]], None]


@pytest.fixture(scope="module")
def pristine() -> list[Document]:
    return kubernetes_documents()


@pytest.fixture
def documents(pristine: list[Document]) -> list[Document]:
    return copy.deepcopy(pristine)


def image_uid() -> int | None:
    return runtime_uid(parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8")))


def find(documents: list[Document], kind: str, name: str) -> Document:
    found = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"the mutation's target {kind}/{name} is gone"
    return found[0]


def container(documents: list[Document], role: str) -> dict[str, Any]:
    """The container ROLE of the Deployment pullpolicy-ROLE."""
    pod = find(documents, "Deployment", f"pullpolicy-{role}")
    (found,) = [c for c in pod["spec"]["template"]["spec"]["containers"] if c["name"] == role]
    result: dict[str, Any] = found
    return result


def semantic_problems(documents: list[Document]) -> list[str]:
    return [problem for check in SEMANTIC_CHECKS for problem in check(documents)]


def test_every_document_is_valid_against_the_kubernetes_schemas(pristine: list[Document]) -> None:
    assert {d["kind"] for d in pristine} >= {"Deployment", "StatefulSet", "Service", "Secret"}
    assert [problem for document in pristine for problem in schema_problems(document)] == []


@pytest.mark.parametrize("check", SEMANTIC_CHECKS, ids=lambda check: check.__name__)
def test_the_manifests_pass(
    check: Callable[[list[Document]], list[str]], pristine: list[Document]
) -> None:
    assert check(pristine) == []


def test_bot_pods_run_as_the_image_user(pristine: list[Document]) -> None:
    assert image_uid() is not None
    assert security_problems(pristine, image_uid()) == []


_DELETE = object()


def _set(path: list[str | int], value: object) -> Callable[[dict[str, Any]], None]:
    def apply(target: dict[str, Any]) -> None:
        node: Any = target
        for key in path[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return apply


def on_web(path: list[str | int], value: object) -> Mutation:
    return lambda documents: _set(path, value)(container(documents, "web"))


def on_worker(path: list[str | int], value: object) -> Mutation:
    return lambda documents: _set(path, value)(container(documents, "worker"))


def on(kind: str, name: str, path: list[str | int], value: object) -> Mutation:
    return lambda documents: _set(path, value)(find(documents, kind, name))


def web_arg(old: str, new: str | None) -> Mutation:
    """Replace (None: drop) one word of the receiver's args."""

    def mutate(documents: list[Document]) -> None:
        web = container(documents, "web")
        assert old in web["args"], f"the mutation's anchor {old} is gone from the args"
        web["args"] = [
            word if word != old else new for word in web["args"] if word != old or new is not None
        ]

    return mutate


def rename_probe(documents: list[Document]) -> None:
    web = container(documents, "web")
    web["readinesProbe"] = web.pop("readinessProbe")


TEMPLATE_LABELS = ["spec", "template", "metadata", "labels"]

SCHEMA_BREAKS: dict[str, tuple[Mutation, str]] = {
    "misspelled field": (rename_probe, "'readinesProbe' was unexpected"),
    "wrong type": (
        on("Deployment", "pullpolicy-web", ["spec", "replicas"], "two"),
        "'two' is not of type",
    ),
    "port as text": (on_web(["ports", 0, "containerPort"], "8000"), "'8000' is not of type"),
    "missing required field": (
        on("Deployment", "pullpolicy-web", ["spec", "selector"], _DELETE),
        "'selector' is a required",
    ),
    "unknown kind": (
        on("Service", "pullpolicy-web", ["kind"], "Servce"),
        "Couldn't find schema for kind Servce",
    ),
    "unknown field in a Service": (
        on("Service", "pullpolicy-web", ["spec", "selectors"], {}),
        "'selectors' was unexpected",
    ),
}


@pytest.mark.parametrize("name", SCHEMA_BREAKS)
def test_the_schema_validation_rejects_a_broken_copy(name: str, documents: list[Document]) -> None:
    mutate, expected = SCHEMA_BREAKS[name]
    mutate(documents)
    found = [problem for document in documents for problem in schema_problems(document)]
    assert any(expected in problem for problem in found), found


SEMANTIC_BREAKS: dict[str, tuple[Mutation, str]] = {
    "misspelled cli flag": (
        web_arg("--no-worker", "--no-workers"),
        REFUSED,
    ),
    "unknown subcommand": (on_worker(["args"], ["wrker"]), REFUSED),
    "receiver on loopback": (web_arg("0.0.0.0", "127.0.0.1"), "unreachable from outside"),  # noqa: S104
    "receiver with a worker inside": (
        web_arg("--no-worker", None),
        "needs --no-worker",
    ),
    "receiver on another port": (
        web_arg("8000", "9000"),
        "serves on port 9000, the container exposes 8000",
    ),
    "command replaces the entrypoint": (on_worker(["command"], ["celery"]), "replaces the image's"),
    "no role": (on_worker(["args"], _DELETE), "args:"),
    "two image versions": (
        on_worker(["image"], "ghcr.io/pullpolicy/pullpolicy:0.0.9"),
        "different images",
    ),
    "readiness on /healthz": (
        on_web(["readinessProbe", "httpGet", "path"], "/healthz"),
        "not /readyz",
    ),
    "liveness elsewhere": (on_web(["livenessProbe", "httpGet", "path"], "/health"), "not /healthz"),
    "probe on a missing port": (
        on_web(["livenessProbe", "httpGet", "port"], "htp"),
        "asks port htp",
    ),
    "no readiness probe": (on_web(["readinessProbe"], _DELETE), "readinessProbe must be"),
    "selector misses labels": (
        on("Deployment", "pullpolicy-web", [*TEMPLATE_LABELS, "role"], "api"),
        "misses its labels",
    ),
    "service selects nothing": (
        on("Service", "pullpolicy-web", ["spec", "selector", "role"], "api"),
        "selects no pod",
    ),
    "service to an unnamed port": (
        on("Service", "pullpolicy-web", ["spec", "ports", 0, "targetPort"], "htp"),
        "has no port htp",
    ),
    "governing service not headless": (
        on("Service", "pullpolicy-redis", ["spec", "clusterIP"], _DELETE),
        "headless",
    ),
    "governing service missing": (
        on("StatefulSet", "pullpolicy-redis", ["spec", "serviceName"], "redis"),
        "names no Service",
    ),
    "autoscaler target missing": (
        on(
            "HorizontalPodAutoscaler",
            "pullpolicy-worker",
            ["spec", "scaleTargetRef", "name"],
            "worker",
        ),
        "no target",
    ),
    "autoscaled without cpu requests": (
        on_worker(["resources", "requests", "cpu"], _DELETE),
        "requests no cpu",
    ),
    "secret missing": (
        on_worker(["envFrom", 0, "secretRef", "name"], "pullpolicy-secrets"),
        "is not here",
    ),
    "undeclared volume": (
        on_worker(["volumeMounts"], [{"name": "data", "mountPath": "/data"}]),
        "undeclared volume data",
    ),
    "misspelled setting": (
        on_worker(["env", 0, "name"], "PULLPOLICY_BROKER_URLL"),
        "PULLPOLICY_BROKER_URLL is no setting",
    ),
    "misspelled secret key": (
        on("Secret", "pullpolicy", ["stringData", "PULLPOLICY_GITHUB_APPID"], "1"),
        "APPID is no setting",
    ),
    "broker host unknown": (
        on_worker(["env", 0, "value"], "redis://redis:6379/0"),
        "redis is no Service",
    ),
    "redis on ephemeral storage": (
        on("StatefulSet", "pullpolicy-redis", ["spec", "volumeClaimTemplates"], _DELETE),
        "without a volumeClaimTemplate",
    ),
}


@pytest.mark.parametrize("name", SEMANTIC_BREAKS)
def test_the_consistency_checks_reject_a_broken_copy(name: str, documents: list[Document]) -> None:
    mutate, expected = SEMANTIC_BREAKS[name]
    mutate(documents)
    found = semantic_problems(documents)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"runAsNonRoot": True, "runAsUser": 0}, "not the image's USER"),
        ({"runAsUser": 10001}, "runAsNonRoot must be true"),
    ],
)
def test_bot_pods_must_not_run_as_root(
    context: dict[str, object], expected: str, documents: list[Document]
) -> None:
    find(documents, "Deployment", "pullpolicy-web")["spec"]["template"]["spec"][
        "securityContext"
    ] = context
    found = security_problems(documents, image_uid())
    assert any(expected in problem for problem in found), found
