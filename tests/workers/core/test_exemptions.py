"""Exemptions: other tools' annotations, our comments, and .pullpolicy.yml patterns."""

from __future__ import annotations

import pytest

from workers.config.model import Config, Exemptions
from workers.core.manifest import check_manifest


def deployment(annotations: str = "", pod_annotations: str = "", containers: str = "") -> str:
    containers = containers or "      - name: app\n        image: registry.local/team/app:1\n"
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: prod\n"
        f"  annotations: {{{annotations}}}\nspec:\n  template:\n"
        f"    metadata:\n      annotations: {{{pod_annotations}}}\n"
        f"    spec:\n      containers:\n{containers}"
    )


def outcome(text: str, config: Config | None = None) -> tuple[int, list[str]]:
    report = check_manifest("d.yaml", text.encode(), config or Config())
    return len(report.findings), [e.reason for e in report.exempted]


@pytest.mark.parametrize(
    "annotation",
    [
        '"polaris.fairwinds.com/exempt": "true"',
        '"polaris.fairwinds.com/pullPolicyNotAlways-exempt": "true"',
        '"checkov.io/skip1": "CKV_K8S_15=pulled by the node image"',
        '"bridgecrew.io/skip2": "CKV_K8S_15"',
        '"cortex.io/skip": "CKV_K8S_15"',
        '"kube-linter.io/ignore-all": "legacy"',
        '"ignore-check.kube-linter.io/image-pull-policy": "reason"',
        '"kube-score/ignore": "pod-probes, container-image-pull-policy"',
    ],
)
@pytest.mark.parametrize("where", ["object", "pod template"])
def test_annotations_exempt(annotation: str, where: str) -> None:
    text = (
        deployment(annotations=annotation)
        if where == "object"
        else deployment(pod_annotations=annotation)
    )
    found, reasons = outcome(text)
    assert found == 0
    assert len(reasons) == 1 and reasons[0].startswith("annotation ")


@pytest.mark.parametrize(
    "annotation",
    [
        '"polaris.fairwinds.com/exempt": "false"',
        '"checkov.io/skip1": "CKV_K8S_14"',
        '"kube-score/ignore": "pod-probes"',
        '"ignore-check.kube-linter.io/no-read-only-root-fs": "x"',
    ],
)
def test_unrelated_annotations_do_not_exempt(annotation: str) -> None:
    assert outcome(deployment(annotations=annotation)) == (1, [])


@pytest.mark.parametrize(
    "containers",
    [
        "      - name: app  # pullpolicy: ignore\n        image: app:1\n",
        "      - name: app\n        image: app:1 # pullpolicy: ignore\n",
        "      # pullpolicy: ignore\n      - name: app\n        image: app:1\n",
        "      -   # pullpolicy: ignore\n        name: app\n        image: app:1\n",
    ],
)
def test_ignore_comment_positions(containers: str) -> None:
    assert outcome(deployment(containers=containers)) == (0, ["comment # pullpolicy: ignore"])


def test_ignore_comment_does_not_leak_to_the_next_container() -> None:
    containers = (
        "      - name: a\n        image: a:1  # pullpolicy: ignore\n"
        "      - name: b\n        image: b:1\n"
    )
    report = check_manifest("d.yaml", deployment(containers=containers).encode(), Config())
    assert [f.container for f in report.findings] == ["b"]


def test_ignore_word_must_be_exact() -> None:
    containers = "      - name: a  # pullpolicy: ignored-by-mistake\n        image: a:1\n"
    assert outcome(deployment(containers=containers)) == (1, [])


def test_ignore_file_comment() -> None:
    text = "# pullpolicy: ignore-file\n" + deployment()
    report = check_manifest("d.yaml", text.encode(), Config(), fix=True)
    assert report.findings == () and report.fixed is None


@pytest.mark.parametrize(
    ("exempt", "reason"),
    [
        (Exemptions(images=("registry.local/*",)), "exempt.images: registry.local/*"),
        (Exemptions(registries=("registry.local",)), "exempt.registries: registry.local"),
        (Exemptions(containers=("ap?",)), "exempt.containers: ap?"),
        (Exemptions(namespaces=("prod",)), "exempt.namespaces: prod"),
        (Exemptions(kinds=("Deployment",)), "exempt.kinds: Deployment"),
    ],
)
def test_config_exemptions(exempt: Exemptions, reason: str) -> None:
    assert outcome(deployment(), Config(exempt=exempt)) == (0, [reason])


def test_config_exemptions_that_do_not_match() -> None:
    exempt = Exemptions(
        images=("docker.io/*",), registries=("docker.io",), containers=("web",), kinds=("Job",)
    )
    assert outcome(deployment(), Config(exempt=exempt)) == (1, [])


def test_docker_hub_registry_is_implicit() -> None:
    containers = "      - name: a\n        image: nginx:1\n"
    exempt = Exemptions(registries=("docker.io",))
    assert outcome(deployment(containers=containers), Config(exempt=exempt)) == (
        0,
        ["exempt.registries: docker.io"],
    )


def test_exempted_containers_are_not_patched() -> None:
    containers = (
        "      - name: a  # pullpolicy: ignore\n        image: a:1\n"
        "      - name: b\n        image: b:1\n"
    )
    report = check_manifest(
        "d.yaml", deployment(containers=containers).encode(), Config(), fix=True
    )
    assert report.fixed is not None
    assert report.fixed.decode().count("imagePullPolicy: Always") == 1
    assert "image: b:1\n        imagePullPolicy: Always" in report.fixed.decode()
