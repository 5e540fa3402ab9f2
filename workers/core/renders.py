"""What Helm and kustomize render, judged and compared. Pure: the engines live in workers/render.

A source edit (a values key, a template line, an overlay patch) is kept only when rendering
again gives the same objects with pull policies moved to `Always` and nothing else changed.
The comparison is blind to pull policies: `imagePullPolicy` keys anywhere, env vars that only
carry one (an operator's `RELATED_IMAGE_PULL_POLICY`), and lines of text inside a rendered string
(a ConfigMap carrying the chart's values as YAML or JSON) whose key names a pull policy and whose
value is a pull policy or empty (`"imagePullPolicy": "",` may become `"Always",`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from workers.config.model import Config
from workers.core.detect import ALWAYS
from workers.core.findings import FileReport, Finding
from workers.core.manifest import check_manifest

CHART = "chart"
KUSTOMIZATION = "kustomization"
POLICY_KEY = "imagePullPolicy"
POLICIES = frozenset({"Always", "IfNotPresent", "Never"})
POLICY_ENV = re.compile(r"(?:^|_)PULL_?POLICY$", re.IGNORECASE)
# A line of text carrying a pull policy: `pullPolicy: IfNotPresent`, `"imagePullPolicy": "",`,
# `- image_pull_policy: 'Never'`. Any other value (a template, a word) is compared as it is.
POLICY_LINE = re.compile(
    r"""^(?P<key>[ \t]*(?:-[ \t]+)?["']?[A-Za-z_]*pull_?policy["']?[ \t]*:[ \t]*)"""
    r"""(?P<quote>["']?)(?P<value>(?-i:Always|IfNotPresent|Never)|)(?P=quote)"""
    r"""(?P<rest>[ \t]*,?[ \t]*(?:#[^\r\n]*)?)$""",
    re.IGNORECASE | re.MULTILINE,
)
POLICY_HINT = re.compile(r"pull_?policy", re.IGNORECASE)
# What a blinded policy env var carries: no YAML value equals it, so a var rewritten to any text
# (even "<policy>") still differs from a blinded one.
HIDDEN: Final = object()

# Rendered output: one text per source (Helm: template path; kustomize: the kustomization).
Rendered = Mapping[str, str]
# An engine: (repository-relative path -> bytes of every file it may read, the directory to
# render) -> rendered output. Raises RenderFailed with the engine's own message.
Render = Callable[[Mapping[str, bytes], str], dict[str, str]]


@dataclass(frozen=True)
class Renderers:
    """The engines a scan may use; None: that kind of source is checked textually."""

    helm: Render | None = None
    kustomize: Render | None = None


class RenderFailed(Exception):
    """The engine refused the input (missing dependency, `required` value, remote base...)."""


@dataclass(frozen=True)
class Verification:
    """One chart or kustomization: rendered before and after the fix, or why not."""

    kind: str  # CHART | KUSTOMIZATION
    root: str  # its directory, repository-relative ("" for the root)
    verified: bool
    reason: str | None = None  # why it is not verified, or why its edits were dropped
    before: int = 0  # non-Always rendered containers before the fix
    after: int = 0  # ... and after it


def rendered_reports(rendered: Rendered, config: Config) -> list[FileReport]:
    """Findings in the engine's output, one report per rendered source, as for a manifest."""
    return [
        check_manifest(name, text.encode("utf-8"), config)
        for name, text in sorted(rendered.items())
    ]


def rendered_findings(rendered: Rendered, config: Config) -> list[Finding]:
    return [finding for report in rendered_reports(rendered, config) for finding in report.findings]


def difference(before: Rendered, after: Rendered, config: Config) -> str | None:
    """Why `after` is not `before` with pull policies moved to Always; None when it is."""
    if sorted(before) != sorted(after):
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        return f"the render's outputs changed (added {added}, removed {removed})"
    for name in sorted(before):
        old, new = _load(before[name]), _load(after[name])
        where = _first_difference(_blind(old), _blind(new), name)
        if where is not None:
            return f"{where} changed beyond pull policies"
        moved = _policy_regression(old, new, name)
        if moved is not None:
            return f"{moved} moved away from {ALWAYS}"
    old_fingerprints = {f.fingerprint for f in rendered_findings(before, config)}
    new = [f for f in rendered_findings(after, config) if f.fingerprint not in old_fingerprints]
    if new:
        first = new[0]
        who = f"container {first.container!r} of {first.kind} {first.name}"
        return f"{first.path}: {who} is no longer Always"
    return None


def _load(text: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as error:
        return [f"<unparseable render: {error}>"]


def _blind(value: Any) -> Any:
    """`value` with every pull policy replaced by a placeholder (missing keys stay missing)."""
    if isinstance(value, dict):
        if _is_policy_env(value):
            return {**value, "value": HIDDEN}
        return {key: _blind(item) for key, item in value.items() if key != POLICY_KEY}
    if isinstance(value, list):
        return [_blind(item) for item in value]
    if isinstance(value, str) and POLICY_HINT.search(value):
        blind = _BlindText.of(value)
        return blind if len(blind.pieces) > 1 else value
    return value


@dataclass(frozen=True)
class _BlindText:
    """A string cut at its pull-policy lines' values, which are left out: equal when only those
    values differ, and a line rewritten to look like a blinded one still differs (it is not
    cut there)."""

    pieces: tuple[str, ...]

    @classmethod
    def of(cls, value: str) -> _BlindText:
        pieces: list[str] = []
        done = 0
        for match in POLICY_LINE.finditer(value):
            pieces.append(value[done : match.start("quote")])
            done = match.end("value") + len(match["quote"])
        pieces.append(value[done:])
        return cls(tuple(pieces))


def policy_lines(text: str) -> list[str]:
    """The pull-policy values of `text`'s policy lines, in order ("" for an empty one)."""
    if not POLICY_HINT.search(text):
        return []
    return [match["value"] for match in POLICY_LINE.finditer(text)]


def _is_policy_env(value: Mapping[Any, Any]) -> bool:
    name, current = value.get("name"), value.get("value")
    return (
        isinstance(name, str)
        and bool(POLICY_ENV.search(name))
        and (current in POLICIES or current is None)
        and set(value) <= {"name", "value"}
    )


def _first_difference(old: Any, new: Any, where: str) -> str | None:
    if type(old) is not type(new):
        return where
    if isinstance(old, dict):
        for key in sorted(set(old) | set(new), key=str):
            if key not in old or key not in new:
                return f"{where}.{key}"
            found = _first_difference(old[key], new[key], f"{where}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(old, list):
        if len(old) != len(new):
            return where
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _first_difference(a, b, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    return None if old == new else where


def _policy_regression(old: Any, new: Any, where: str) -> str | None:
    """A pull policy (key or env var) that was Always before and is something else after.

    Called once the blind comparison passed, so both values have the same shape."""
    if isinstance(old, dict) and isinstance(new, dict):
        if _is_policy_env(old) and old.get("value") == ALWAYS and new.get("value") != ALWAYS:
            return where
        if old.get(POLICY_KEY) == ALWAYS and new.get(POLICY_KEY) != ALWAYS:
            return f"{where}.{POLICY_KEY}"
        for key in old:
            if key in new:
                found = _policy_regression(old[key], new[key], f"{where}.{key}")
                if found is not None:
                    return found
    if isinstance(old, list) and isinstance(new, list):
        for index, (a, b) in enumerate(zip(old, new, strict=False)):
            found = _policy_regression(a, b, f"{where}[{index}]")
            if found is not None:
                return found
    if isinstance(old, str) and isinstance(new, str):
        # The blind comparison passed: both have their policy lines on the same lines.
        for was, now in zip(policy_lines(old), policy_lines(new), strict=True):
            if was == ALWAYS and now != ALWAYS:
                return f"{where} (a pull-policy line)"
    return None
