"""The `.pullpolicy.yml` model: every key optional, unknown keys rejected.

Also renders what is generated from the model: the JSON Schema (committed as
`workers/config/pullpolicy.schema.json`) and the commented defaults file for the README.
Reading a file into this model lives in `workers.config.loading`.
"""

from __future__ import annotations

import json
import textwrap
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

CONFIG_FILENAME = ".pullpolicy.yml"
DEFAULT_BRANCH = "pullpolicy/always-pull-images"
SCHEMA_ID = "https://pullpolicy.dev/schema/pullpolicy.schema.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TITLE = "pullpolicy configuration (.pullpolicy.yml)"

# The file comes from the scanned repository: bound what a hostile one can make a worker do.
MAX_PATTERNS = 64
"""Most entries in one list of patterns (`paths.include`, `exempt.images`, ...)."""
MAX_PATTERN_CHARS = 256
"""Longest single pattern."""

MAX_NAMES = 100
"""Most labels, reviewers or assignees: GitHub's own cap on an issue's labels
(https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue)."""
MAX_NAME_CHARS = 100
"""Longest label or user name (GitHub's label limit is 50 characters, GitLab's 255 bytes)."""
MAX_TITLE_CHARS = 256
"""Longest pull request title (GitHub refuses longer ones)."""
MAX_MESSAGE_CHARS = 10_000
"""Longest commit message."""

Pattern = Annotated[str, StringConstraints(max_length=MAX_PATTERN_CHARS)]
Patterns = Annotated[tuple[Pattern, ...], Field(max_length=MAX_PATTERNS)]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS)]
Names = Annotated[tuple[Name, ...], Field(max_length=MAX_NAMES)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Mode(StrEnum):
    FIX = "fix"
    CHECK = "check"


class ReviewMode(StrEnum):
    SUGGEST = "suggest"
    CHECK = "check"
    OFF = "off"


class ReviewConclusion(StrEnum):
    NEUTRAL = "neutral"
    FAILURE = "failure"


class ReviewEvent(StrEnum):
    COMMENT = "comment"
    REQUEST_CHANGES = "request_changes"


class NeverPolicy(StrEnum):
    FIX = "fix"
    KEEP = "keep"


class DigestPolicy(StrEnum):
    FIX = "fix"
    EXEMPT = "exempt"


class Paths(_Model):
    include: Patterns = ("**/*.yaml", "**/*.yml", "**/*.json")
    """Glob patterns (relative to the repository root) of files to scan."""
    exclude: Patterns = ()
    """Glob patterns of files never scanned nor patched."""


class Rules(_Model):
    never: NeverPolicy = NeverPolicy.FIX
    """`fix`: `Never` becomes `Always` (called out in the PR); `keep`: `Never` is left alone."""
    digests: DigestPolicy = DigestPolicy.FIX
    """`fix`: digest-pinned images (`@sha256:...`) need `Always` too; `exempt`: they do not."""
    explicit: bool = True
    """Require an explicit `Always` even where Kubernetes defaults to it (`:latest`, untagged)."""
    containers: bool = True
    """Check `containers`, Argo `container`, `script`, `sidecars`, `containerSet`, Tekton steps."""
    init_containers: bool = True
    """Check `initContainers`."""
    ephemeral_containers: bool = True
    """Check `ephemeralContainers`."""
    helm_values: bool = True
    """Fix Helm charts' `values.yaml` keys that feed `imagePullPolicy` in templates."""


class Exemptions(_Model):
    images: Patterns = ()
    """Glob patterns on the image reference, e.g. `registry.local/*` or `busybox:*`."""
    registries: Patterns = ()
    """Registry hosts whose images are exempt, e.g. `registry.internal:5000`."""
    containers: Patterns = ()
    """Glob patterns on container names."""
    namespaces: Patterns = ()
    """Glob patterns on `metadata.namespace`."""
    kinds: Patterns = ()
    """Workload kinds never checked, e.g. `Job`."""


class PullRequest(_Model):
    branch: str = DEFAULT_BRANCH
    """The branch the bot owns and force-updates; it never writes any other."""
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)] | None = None
    """PR title; default: a title that counts the containers fixed."""
    commit_message: Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)] | None = None
    """Commit message; default: generated from the findings."""
    labels: Names = ()
    """Labels added to the pull request."""
    reviewers: Names = ()
    """Users asked to review the pull request."""
    assignees: Names = ()
    """Users assigned to the pull request."""
    draft: bool = False
    """Open the pull request as a draft."""


class Config(_Model):
    """A `.pullpolicy.yml` file: every key is optional; unknown keys are errors."""

    enabled: bool = True
    """`false` turns the bot off for this repository."""
    mode: Mode = Mode.FIX
    """`fix` opens a pull request; `check` only reports findings (check run / status)."""
    strict: bool = False
    """`true` makes `pullpolicy check` fail (exit 1) when a file could not be checked (invalid
    YAML, too large, a workload without a container list); skipped files are listed either way."""
    paths: Paths = Field(default_factory=Paths)
    """Which files are scanned."""
    rules: Rules = Field(default_factory=Rules)
    """What counts as a finding."""
    exempt: Exemptions = Field(default_factory=Exemptions)
    """Containers never reported nor fixed, whatever the rules say."""
    pull_request: PullRequest = Field(default_factory=PullRequest)
    """How the fix pull request (merge request on GitLab) looks."""
    review: ReviewMode = ReviewMode.SUGGEST
    """People's pull requests: `suggest` reports findings on the lines they add (check run or
    commit status) and suggests each fix in a review comment; `check` only reports; `off` does
    neither. Read from the pull request's base branch, so a pull request cannot change it."""
    review_conclusion: ReviewConclusion = ReviewConclusion.NEUTRAL
    """How the review's check run (commit status on GitLab) ends when a pull request adds
    findings: `neutral`, or `failure` to make it a required check."""
    review_event: ReviewEvent = ReviewEvent.COMMENT
    """The GitHub review holding the suggestions: `comment`, or `request_changes` to block
    merging until they are committed, ignored or the review is dismissed (dismissing it
    declines its suggestions). GitLab has no equivalent: its discussions are the threads that
    the project's "All threads must be resolved" setting waits for."""
    review_drafts: bool = False
    """Review draft pull requests too."""

    @field_validator("review", mode="before")
    @classmethod
    def _unquoted_off(cls, value: object) -> object:
        """YAML 1.1 reads an unquoted `review: off` as false: it means "off"."""
        return ReviewMode.OFF if value is False else value


DEFAULT_CONFIG = Config()


def schema_json() -> str:
    """The JSON Schema of `.pullpolicy.yml`, as committed in
    `workers/config/pullpolicy.schema.json`."""
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        **Config.model_json_schema(),
        "title": SCHEMA_TITLE,
    }
    # Sorted keys and a final newline: the committed file must be byte-for-byte reproducible.
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_defaults_yaml() -> str:
    """A `.pullpolicy.yml` listing every key with its default, each under its description."""
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_ID}",
        f"# {CONFIG_FILENAME}: every key is optional; the values shown are the defaults.",
    ]
    _render_model(Config, DEFAULT_CONFIG.model_dump(mode="json"), "", lines)
    return "\n".join(lines) + "\n"


def _render_model(
    model: type[BaseModel], values: dict[str, Any], indent: str, lines: list[str]
) -> None:
    for name, field in model.model_fields.items():
        if not indent:
            lines.append("")  # a blank line between top-level sections
        for text in textwrap.wrap(field.description or "", width=96 - len(indent)):
            lines.append(f"{indent}# {text}")
        sub_model = field.annotation
        if isinstance(sub_model, type) and issubclass(sub_model, BaseModel):
            lines.append(f"{indent}{name}:")
            _render_model(sub_model, values[name], indent + "  ", lines)
        else:
            # JSON is valid YAML flow style and quotes every string unambiguously.
            lines.append(f"{indent}{name}: {json.dumps(values[name], ensure_ascii=False)}")
