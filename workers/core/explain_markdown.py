"""The pull request body: Markdown explaining each fix, never longer than the forge allows.

Every value from the scanned repository is shown in a code span (or HTML-escaped inside
`<summary>`), so it cannot inject links, HTML, mentions or table columns.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from workers.core.explain import (
    PATH_MAX_CHARS,
    VALUE_MAX_CHARS,
    one_line,
    path_text,
    plural,
    render_marker,
    scope_phrase,
)
from workers.core.findings import Exempted, Finding, Source
from workers.core.renders import CHART, KUSTOMIZATION, Verification

DEFAULT_LIMIT = 65536  # GitHub's maximum PR body length
HEADING = "## Set `imagePullPolicy: Always`"
SUMMARY = "This pull request sets `imagePullPolicy: Always` on {scope}."
RUNTIME_LINE = (
    "- **Changes runtime behaviour: {count}.** The kubelet will check the registry on every"
    " container start instead of reusing an image cached on the node."
)
EXPLICIT_LINE = (
    "- **Only makes the default explicit: {count}.** Kubernetes already pulls `:latest` and"
    " untagged images on every start when no policy is set."
)
NEVER_HEADING = "### ⚠️ `Never` changed to `Always` ({count})"
NEVER_NOTE = (
    "`Never` usually means the image is pre-loaded on the nodes (kind clusters, air-gapped"
    " nodes). If that is the case here, exempt the container instead of merging this change"
    " (see *How to exempt a container* below)."
)
CHANGES_HEADING = "### Changes"
MISSING_CELL = "*(missing)*"
EMPTY_CELL = "*(empty)*"
NONE_CELL = "*(none)*"
ARROW = " → `Always`"
EXPLICIT_SUFFIX = " (default made explicit)"
MANIFEST_TABLE_HEAD = (
    "| Line | Object | Container | Image | Change |\n| ---: | --- | --- | --- | --- |"
)
HELM_TABLE_HEAD = "| Line | `values.yaml` key | Change |\n| ---: | --- | --- |"
CHARTS_HEADING = "### Rendered charts"
CHARTS_NOTE = (
    "Containers in these charts were found in what Helm renders; each change is made in the"
    " file that decides it (a `values.yaml` key or a template line), and a chart's changes are"
    " kept only if rendering it again changes nothing but pull policies."
)
KUSTOMIZATIONS_HEADING = "### Rendered kustomizations"
KUSTOMIZATIONS_NOTE = (
    "Containers in these kustomizations were found in what `kubectl kustomize` renders; each"
    " change is made in the file that decides it (the overlay patch that sets the policy, else"
    " the base resource), and a patch's change is kept only if every kustomization that reads"
    " it renders the same but for pull policies."
)
MORE_ROWS = "… and {count} more in this file"
MORE_ITEMS = "- … and {count} more"
MORE_FILES = "- … and {count} more files"
HELM_NOTE = (
    "**Helm charts:** the fix sets the `values.yaml` keys that decide `imagePullPolicy` in what"
    " the chart renders (values given at install time still override these defaults), and"
    " changes a template line only where no value decides it."
)
WHY_ALWAYS = """### Why `Always`

- **Cached images are shared between tenants.** With `IfNotPresent` or `Never`, a pod starts \
from whatever image the node has cached, and no registry credentials are checked. On a shared \
node, a pod from another namespace or tenant can run a private image it has no pull secret \
for. `Always` makes the kubelet ask the registry on every start, so credentials are checked \
every time (digest-pinned images included).
- **Mutable tags move.** A tag like `1.2` is often re-pushed, for example with a security fix. \
Nodes that cached the old image keep starting it under `IfNotPresent`; with `Always`, every \
new container gets what the tag points to now.
- **`Always` is cheap when nothing changed.** The kubelet resolves the tag with the registry \
and downloads only the layers the node does not have yet."""
TRADE_OFFS = """### Trade-offs

- **Registry availability at pod start.** Every container start now contacts the registry. \
If it is unreachable, new pods wait in `ImagePullBackOff` instead of starting from the cache \
(running pods are not affected).
- **Pull rate limits.** Registries such as Docker Hub limit pulls per client; more pulls can \
reach those limits on busy clusters.
- **Mitigations:** run a registry mirror or pull-through cache next to the cluster, pull with \
authenticated credentials, or exempt containers that must start without a registry."""
HOW_TO_EXEMPT = """### How to exempt a container

- `# pullpolicy: ignore` as a comment on the container's line or on its `image:` line.
- `# pullpolicy: ignore-file` anywhere in a file skips the whole file.
- Annotations other linters use are honoured, on the object's or the pod template's `metadata`:
  - Polaris: `polaris.fairwinds.com/pullPolicyNotAlways-exempt: "true"`
  - Checkov: `checkov.io/skip1: CKV_K8S_15=<reason>`
  - kube-linter: `kube-linter.io/ignore-all: "<reason>"` or \
`ignore-check.kube-linter.io/<check>: "<reason>"`
  - kube-score: `kube-score/ignore: container-image-pull-policy`
- A `.pullpolicy.yml` at the repository root, for example:

  ```yaml
  exempt:
    images: ["registry.local/*", "busybox:*"]
    registries: ["registry.internal:5000"]
    containers: ["istio-proxy"]
    namespaces: ["kube-system"]
    kinds: ["Job"]
  rules:
    never: keep        # leave imagePullPolicy: Never untouched
    digests: exempt    # digest-pinned images need no Always
  paths:
    exclude: ["test/**"]
  ```"""
EXEMPTED_SUMMARY = "{count} exempted and left alone"
SKIPPED_SUMMARY = "{count} not checked"
HELD_BACK = (
    "**{count} more {containers}** also {lack} `Always`. To keep this pull request reviewable"
    " {they} will be proposed after it is merged."
)
DECLINE_NOTE = (
    "Closing this pull request without merging declines these fixes: pullpolicy will not"
    " propose them again. New findings get a new pull request."
)
FOOTER = "<sub>pullpolicy {version}</sub>"

_BACKTICK_RUN = re.compile("`+")


def code_span(text: str, *, in_table: bool = False, max_chars: int = VALUE_MAX_CHARS) -> str:
    """`text` as an inline code span that no content can break out of."""
    text = one_line(text, max_chars)
    if not text:
        return EMPTY_CELL
    if in_table:
        text = text.replace("|", "\\|")  # GFM splits cells before parsing code spans
    fence = "`" * (max(map(len, _BACKTICK_RUN.findall(text)), default=0) + 1)
    # A leading/trailing backtick would merge with the fence; a space on both sides is stripped.
    spaced = text[0] == text[-1] == " " and bool(text.strip())
    padded = text[0] == "`" or text[-1] == "`" or spaced
    pad = " " if padded else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _path(path: str) -> str:
    return code_span(path, max_chars=PATH_MAX_CHARS)


def _summary_html(path: str, count: int) -> str:
    code = html.escape(path_text(path))
    return f"<summary><code>{code}</code> — {plural(count, 'change')}</summary>"


class _Tables(Enum):
    OPEN = "open"  # one heading and table per file
    FOLDED = "folded"  # each file's table inside <details>
    FILES = "files"  # one line per file with its counts


@dataclass(frozen=True)
class _Layout:
    tables: _Tables
    rows_per_file: int | None = None  # None: every row
    files: int | None = None  # FILES only: how many file lines; None: all
    items: int | None = None  # cap on Never / exempted / skipped lists; None: all
    prose: bool = True  # Why / Trade-offs / How to exempt


# From richest to barest; pr_body takes the first that fits, else the marker alone. Folding adds
# characters (it only shortens what a reviewer scrolls through), so it comes with the first cut.
_LAYOUTS = (
    _Layout(_Tables.OPEN),
    _Layout(_Tables.FOLDED, rows_per_file=50, items=50),
    _Layout(_Tables.FOLDED, rows_per_file=20, items=20),
    _Layout(_Tables.FOLDED, rows_per_file=5, items=10),
    _Layout(_Tables.FOLDED, rows_per_file=1, items=10),
    _Layout(_Tables.FILES, items=10),
    _Layout(_Tables.FILES, files=100, items=5),
    _Layout(_Tables.FILES, files=20, items=5),
    _Layout(_Tables.FILES, files=20, items=5, prose=False),
    _Layout(_Tables.FILES, files=5, items=3, prose=False),
    _Layout(_Tables.FILES, files=0, items=0, prose=False),
)


def _capped(lines: list[str], cap: int | None, more: str = MORE_ITEMS) -> list[str]:
    if cap is None or len(lines) <= cap:
        return lines
    return [*lines[:cap], more.format(count=len(lines) - cap)] if cap else []


def _before(finding: Finding) -> str:
    if finding.current is None:
        return MISSING_CELL
    return code_span(finding.current, in_table=True)


def _change_cell(finding: Finding) -> str:
    return _before(finding) + ARROW + ("" if finding.changes_runtime else EXPLICIT_SUFFIX)


def _manifest_row(finding: Finding) -> str:
    container = code_span(finding.container, in_table=True)
    if finding.container_list != "containers":
        container += " in " + code_span(finding.container_list, in_table=True)
    image = NONE_CELL if finding.image is None else code_span(finding.image, in_table=True)
    obj = code_span(f"{finding.kind}/{finding.name}", in_table=True)
    return f"| {finding.line} | {obj} | {container} | {image} | {_change_cell(finding)} |"


def _helm_row(finding: Finding) -> str:
    key = NONE_CELL if finding.value_path is None else code_span(finding.value_path, in_table=True)
    return f"| {finding.line} | {key} | {_change_cell(finding)} |"


def _file_tables(findings: list[Finding], rows: int | None) -> str:
    shown = findings if rows is None else findings[:rows]
    blocks = []
    manifest = [_manifest_row(f) for f in shown if f.source is not Source.HELM_VALUES]
    helm = [_helm_row(f) for f in shown if f.source is Source.HELM_VALUES]
    if manifest:
        blocks.append("\n".join([MANIFEST_TABLE_HEAD, *manifest]))
    if helm:
        blocks.append("\n".join([HELM_TABLE_HEAD, *helm]))
    if len(shown) < len(findings):
        blocks.append(MORE_ROWS.format(count=len(findings) - len(shown)))
    return "\n\n".join(blocks)


def _file_line(path: str, findings: list[Finding]) -> str:
    never = sum(1 for finding in findings if finding.is_never)
    extra = f" ({never} `Never`)" if never else ""
    return f"- {_path(path)} — {plural(len(findings), 'change')}{extra}"


def _changes(by_file: dict[str, list[Finding]], layout: _Layout) -> str:
    if layout.tables is _Tables.FILES:
        lines = [_file_line(path, found) for path, found in by_file.items()]
        listed = _capped(lines, layout.files, MORE_FILES)
        return "\n".join([CHANGES_HEADING, "", *listed]) if listed else ""
    blocks = [CHANGES_HEADING]
    for path, found in by_file.items():
        tables = _file_tables(found, layout.rows_per_file)
        if layout.tables is _Tables.OPEN:
            blocks.append(f"#### {_path(path)}\n\n{tables}")
        else:
            blocks.append(f"<details>\n{_summary_html(path, len(found))}\n\n{tables}\n\n</details>")
    return "\n\n".join(blocks)


def _where(finding: Finding) -> str:
    if finding.source is Source.HELM_VALUES:
        key = code_span(finding.value_path or "?")
        return f"{_path(finding.path)} line {finding.line}: key {key}"
    obj = code_span(f"{finding.kind}/{finding.name}")
    return (
        f"{_path(finding.path)} line {finding.line}: {obj} container {code_span(finding.container)}"
    )


def _never(findings: Sequence[Finding], cap: int | None) -> str:
    never = [finding for finding in findings if finding.is_never]
    if not never:
        return ""
    lines = _capped([f"- {_where(finding)}" for finding in never], cap)
    return "\n\n".join(
        part
        for part in (NEVER_HEADING.format(count=len(never)), NEVER_NOTE, "\n".join(lines))
        if part
    )


def _folded_list(summary: str, lines: list[str], cap: int | None) -> str:
    shown = _capped(lines, cap)
    if not shown:
        return f"*{summary}.*"
    return "\n".join(["<details>", f"<summary>{summary}</summary>", "", *shown, "", "</details>"])


def _exempted(exempted: Sequence[Exempted], cap: int | None) -> str:
    if not exempted:
        return ""
    lines = [f"- {_where(item.finding)} — {code_span(item.reason)}" for item in exempted]
    summary = EXEMPTED_SUMMARY.format(count=plural(len(exempted), "container"))
    return _folded_list(summary, lines, cap)


def _skipped(skipped: Sequence[tuple[str, str]], cap: int | None) -> str:
    if not skipped:
        return ""
    lines = [f"- {_path(path)} — {code_span(reason)}" for path, reason in skipped]
    return _folded_list(SKIPPED_SUMMARY.format(count=plural(len(skipped), "file")), lines, cap)


def _charts(charts: Sequence[Verification], cap: int | None) -> str:
    """A section for the charts, then one for the kustomizations, each only when there are any."""
    sections = (
        (CHART, CHARTS_HEADING, CHARTS_NOTE),
        (KUSTOMIZATION, KUSTOMIZATIONS_HEADING, KUSTOMIZATIONS_NOTE),
    )
    blocks = []
    for kind, heading, note in sections:
        lines = [_verification(item) for item in charts if item.kind == kind]
        if lines:
            blocks.append("\n\n".join([heading, note, "\n".join(_capped(lines, cap))]))
    return "\n\n".join(blocks)


def _verification(item: Verification) -> str:
    root = code_span(item.root or ".")
    if item.verified:
        state = f"verified: rendered before ({item.before} not `Always`) and after ({item.after})"
    else:
        state = f"**not verified**: {code_span(item.reason or 'no reason given')}"
    return f"- {item.kind} {root} — {state}"


def _counts(findings: Sequence[Finding]) -> str:
    runtime = sum(1 for finding in findings if finding.changes_runtime)
    explicit = len(findings) - runtime
    lines = [RUNTIME_LINE.format(count=runtime)] if runtime else []
    if explicit:
        lines.append(EXPLICIT_LINE.format(count=explicit))
    return "\n".join(lines)


@dataclass(frozen=True)
class _Input:
    findings: list[Finding]
    by_file: dict[str, list[Finding]]
    exempted: list[Exempted]
    skipped: list[tuple[str, str]]
    version: str
    held_back: int
    charts: list[Verification]


def _held_back(count: int) -> str:
    if not count:
        return ""
    one = count == 1
    return HELD_BACK.format(
        count=count,
        containers="container" if one else "containers",
        lack="lacks" if one else "lack",
        they="it" if one else "they",
    )


def _render(data: _Input, layout: _Layout) -> str:
    findings = data.findings
    has_helm = any(finding.source is Source.HELM_VALUES for finding in findings)
    blocks = [
        HEADING,
        SUMMARY.format(scope=scope_phrase(findings)),
        _counts(findings),
        _never(findings, layout.items),
        _changes(data.by_file, layout),
        _held_back(data.held_back),
        _charts(data.charts, layout.items),
        HELM_NOTE if has_helm and layout.prose else "",
        *((WHY_ALWAYS, TRADE_OFFS, HOW_TO_EXEMPT) if layout.prose else ()),
        _exempted(data.exempted, layout.items),
        _skipped(data.skipped, layout.items),
        DECLINE_NOTE,
        FOOTER.format(version=html.escape(one_line(data.version))),
    ]
    return "\n\n".join(block for block in blocks if block)


def _sorted_input(
    findings: Sequence[Finding],
    exempted: Sequence[Exempted],
    skipped: Sequence[tuple[str, str]],
    version: str,
    held_back: int,
    charts: Sequence[Verification] = (),
) -> _Input:
    def order(finding: Finding) -> tuple[str, int, int, str]:
        return (finding.path, finding.line, finding.column, finding.fingerprint)

    ordered = sorted(findings, key=order)
    by_file: dict[str, list[Finding]] = {}
    for finding in ordered:
        by_file.setdefault(finding.path, []).append(finding)
    return _Input(
        findings=ordered,
        by_file=by_file,
        exempted=sorted(exempted, key=lambda item: order(item.finding)),
        skipped=sorted(skipped),
        version=version,
        held_back=held_back,
        charts=sorted(charts, key=lambda chart: chart.root),
    )


def pr_body(
    findings: Sequence[Finding],
    *,
    exempted: Sequence[Exempted] = (),
    skipped: Sequence[tuple[str, str]] = (),
    version: str,
    limit: int = DEFAULT_LIMIT,
    held_back: int = 0,
    charts: Sequence[Verification] = (),
) -> str:
    """The PR description, at most `limit` characters, ending with the complete marker.

    `held_back` counts fixes left for a later pull request (the bot caps a PR's size).
    `charts` lists the rendered charts: verified (rendered before and after) or why not.

    `skipped` holds (path, reason) pairs. Detail is dropped step by step (fold tables, cut
    rows, list files only, drop the prose) until the body fits; ValueError only when the
    marker alone is longer than `limit`.
    """
    marker = render_marker(version, (finding.fingerprint for finding in findings))
    if len(marker) > limit:
        raise ValueError(
            f"the pullpolicy marker alone needs {len(marker)} characters; the limit is {limit}"
        )
    data = _sorted_input(findings, exempted, skipped, version, held_back, charts)
    for layout in _LAYOUTS:
        body = f"{_render(data, layout)}\n\n{marker}"
        if len(body) <= limit:
            return body
    return marker
