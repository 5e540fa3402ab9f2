"""Container image references, parsed with the registry grammar."""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATE_MARKERS = ("{{", "${", "$(")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # "docker.io" when the reference names none
    repository: str
    tag: str | None
    digest: str | None
    templated: bool  # holds `{{`, `${` or `$(`: its real value is only known at deploy time


def parse_image(reference: str) -> ImageRef:
    rest, _, digest = reference.partition("@")
    # The tag follows the last ':' of the last path segment: `host:5000/img` has no tag.
    head, slash, last = rest.rpartition("/")
    name, colon, tag = last.partition(":")
    repository = f"{head}{slash}{name}"
    first, _, remainder = repository.partition("/")
    has_registry = bool(remainder) and ("." in first or ":" in first or first == "localhost")
    return ImageRef(
        registry=first if has_registry else "docker.io",
        repository=remainder if has_registry else repository,
        tag=tag if colon else None,
        digest=digest or None,
        templated=any(marker in reference for marker in TEMPLATE_MARKERS),
    )


def defaults_to_always(reference: str | None) -> bool:
    """Kubernetes' default when `imagePullPolicy` is unset: Always for `:latest` or no tag.

    (pkg/apis/core/v1/defaults.go: a reference with neither tag nor digest counts as
    `:latest`; a digest-only reference defaults to IfNotPresent.) A templated reference is
    unknown until deploy time, so it does not count as defaulting to Always.
    """
    if not reference:
        return False
    image = parse_image(reference)
    if image.templated:
        return False
    if image.tag is None:
        return image.digest is None
    return image.tag == "latest"
