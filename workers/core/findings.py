"""What the core reports: findings, exemptions and skipped files. Plain data, no behaviour."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum


class Source(StrEnum):
    """Where a finding is fixed: in a manifest, a Helm chart's values file or template, or a
    kustomize patch (a JSON 6902 patch, or one written inline in a kustomization)."""

    MANIFEST = "manifest"
    HELM_VALUES = "helm-values"
    HELM_TEMPLATE = "helm-template"
    KUSTOMIZE_PATCH = "kustomize-patch"


@dataclass(frozen=True)
class Finding:
    """One container (or Helm value) whose pull policy is not `Always`.

    `line` and `column` are 1-based and point at the `imagePullPolicy` value when it exists,
    else at the container's `image` key. `current` is None when the key is missing.
    `changes_runtime` is False when Kubernetes already defaults the container to `Always`
    (`:latest` or untagged images with no policy): the fix then only makes it explicit.
    """

    path: str
    line: int
    column: int
    document: int
    kind: str
    name: str
    namespace: str | None
    container_list: str
    container: str
    image: str | None
    current: str | None
    changes_runtime: bool
    fingerprint: str
    source: Source = Source.MANIFEST
    value_path: str | None = None  # Helm: dotted key in values.yaml, e.g. "image.pullPolicy"
    # Found in what an engine renders, not in this file's own containers: the chart or
    # kustomization directory whose render holds the container ("." for the root).
    rendered_in: str | None = None

    @property
    def is_never(self) -> bool:
        return self.current == "Never"


@dataclass(frozen=True)
class Exempted:
    """A container that would be a finding but an exemption applies (with the reason)."""

    finding: Finding
    reason: str


@dataclass(frozen=True)
class FileReport:
    """Everything the core has to say about one file.

    `skipped` is a reason when the file was not analysed or could not be patched safely;
    `fixed` is the patched text when fixing was asked for and something changed.
    """

    path: str
    findings: tuple[Finding, ...] = ()
    exempted: tuple[Exempted, ...] = ()
    skipped: str | None = None
    fixed: bytes | None = None
    unfixable: tuple[tuple[Finding, str], ...] = field(default=())


def fingerprint(*parts: str | int | None) -> str:
    """Stable identity of a finding: path + object identity + container, never line numbers."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
