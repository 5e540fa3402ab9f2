"""Exemptions users already write for other tools, our own comments, and config patterns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase

from workers.config.model import Exemptions
from workers.core.images import parse_image

IGNORE_FILE = re.compile(r"(?:^|\s)#\s*pullpolicy:\s*ignore-file\b", re.MULTILINE)
IGNORE_LINE = re.compile(r"(?:^|\s)#\s*pullpolicy:\s*ignore(?![-\w])")

POLARIS_KEYS = ("polaris.fairwinds.com/exempt", "polaris.fairwinds.com/pullPolicyNotAlways-exempt")
CHECKOV_PREFIXES = ("checkov.io/skip", "bridgecrew.io/skip", "cortex.io/skip")
CHECKOV_CHECK = "CKV_K8S_15"
KUBE_LINTER_ALL = "kube-linter.io/ignore-all"
KUBE_LINTER_CHECK_PREFIX = "ignore-check.kube-linter.io/"
KUBE_SCORE_KEY = "kube-score/ignore"
KUBE_SCORE_CHECK = "container-image-pull-policy"


def file_ignored(text: str) -> bool:
    return "pullpolicy" in text and IGNORE_FILE.search(text) is not None


def line_ignored(line: str) -> bool:
    return IGNORE_LINE.search(line) is not None


def annotation_exemption(annotations: Mapping[str, str]) -> str | None:
    """The reason an annotation exempts this workload or pod, or None."""
    for key, value in annotations.items():
        if key in POLARIS_KEYS and value.strip().lower() == "true":
            return f"annotation {key}"
        if key.startswith(CHECKOV_PREFIXES) and value.strip().startswith(CHECKOV_CHECK):
            return f"annotation {key}: {CHECKOV_CHECK}"
        if key == KUBE_LINTER_ALL:
            return f"annotation {key}"
        if key.startswith(KUBE_LINTER_CHECK_PREFIX) and "pull-policy" in key:
            return f"annotation {key}"
        if key == KUBE_SCORE_KEY and KUBE_SCORE_CHECK in _words(value):
            return f"annotation {key}: {KUBE_SCORE_CHECK}"
    return None


def _words(value: str) -> set[str]:
    return {word.strip() for word in value.split(",")}


def config_exemption(
    exempt: Exemptions,
    *,
    kind: str,
    namespace: str | None,
    container: str,
    image: str | None,
) -> str | None:
    """The reason `.pullpolicy.yml` exempts this container, or None."""
    if kind in exempt.kinds:
        return f"exempt.kinds: {kind}"
    if namespace is not None and (pattern := _match(namespace, exempt.namespaces)):
        return f"exempt.namespaces: {pattern}"
    if pattern := _match(container, exempt.containers):
        return f"exempt.containers: {pattern}"
    if image:
        if pattern := _match(image, exempt.images):
            return f"exempt.images: {pattern}"
        registry = parse_image(image).registry
        if pattern := _match(registry, exempt.registries):
            return f"exempt.registries: {pattern}"
    return None


def _match(value: str, patterns: tuple[str, ...]) -> str | None:
    return next((pattern for pattern in patterns if fnmatchcase(value, pattern)), None)
