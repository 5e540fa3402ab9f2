"""Where a chart's pull policies may come from: candidate source edits, each byte-minimal.

Candidates are guesses found by reading the sources (values keys, template lines); none is
trusted until rendering shows what it moves (workers/core/charts.py). Each is one splice in
one file: a values scalar set to Always, a key inserted into values.yaml (one a template reads,
or one a helper or `with` block reads relative to the values mapping it is handed), a template
literal replaced, or an `imagePullPolicy: Always` line inserted after a template's `image:` line.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workers.core.detect import ALWAYS, POLICY_KEY
from workers.core.findings import Source
from workers.core.patch import Edit, Unfixable, line_ending, replace_value
from workers.core.yamldoc import Unparseable, decode, entries, parse, strip_bom

CHART_FILE = "Chart.yaml"
VALUES_FILE = "values.yaml"
TEMPLATE_DIR = "templates"
NOT_ALWAYS = frozenset({"IfNotPresent", "Never"})
POLICY_NAME = re.compile(r"pull_?policy$", re.IGNORECASE)
VALUES_REF = re.compile(r"\$?\.Values\.(?P<path>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")
LITERAL = re.compile(
    r"^[ \t]*(?:-[ \t]+)?[\"']?imagePullPolicy[\"']?[ \t]*:[ \t]*"
    r"(?P<quote>[\"']?)(?P<value>IfNotPresent|Never)(?P=quote)[ \t]*(?:#.*)?$",
    re.MULTILINE,
)
IMAGE_LINE = re.compile(
    r"^(?P<indent>[ ]*)(?P<dash>-[ ]+)?image[ \t]*:[ \t]*(?P<value>[^\s|>#].*?)[ \t]*$",
    re.MULTILINE,
)
# A helper or `with` block handed a values mapping: `include "app.policy" .Values.image`,
# `template "x" (.Values.image)`, `with .Values.image`; it reads it relatively (`.pullPolicy`).
HANDED = re.compile(
    r"""(?:(?:include|template)[ \t]+"(?P<name>[^"]+)"|(?P<with>with))[ \t]+\(?[ \t]*"""
    r"""\$?\.Values\.(?P<path>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)(?![A-Za-z0-9_.])"""
)
DEFINE = re.compile(r"""\{\{-?[ \t]*define[ \t]+"(?P<name>[^"]+)"[ \t]*-?\}\}""")
RELATIVE_REF = re.compile(r"(?<![A-Za-z0-9_$\])\.])\.(?P<key>[A-Za-z0-9_]+)\b(?!\.)")
ACTION_ONLY = re.compile(r"^[ \t]*\{\{.*\}\}[ \t]*$")
DEFAULT_STEP = 2


@dataclass(frozen=True)
class Candidate:
    """One source edit, and where a finding it fixes points (1-based)."""

    path: str
    edit: Edit  # on the file's text without its BOM
    line: int
    column: int
    source: Source
    value_path: str | None = None  # values.yaml: the dotted key
    created: bool = False  # values.yaml: the key is inserted (with any missing parents)


def chart_dirs(root: str, paths: Mapping[str, object]) -> list[str]:
    """The chart and its unpacked sub-charts: directories under `root` with a Chart.yaml."""
    return sorted(
        posixpath.dirname(path)
        for path in paths
        if posixpath.basename(path) == CHART_FILE and _within(path, root)
    )


def candidates(root: str, texts: Mapping[str, str]) -> list[Candidate]:
    """Every candidate edit in the chart's sources (`texts`: decoded files, BOMs included),
    cheapest and most likely first: values scalars and template literals, then inserted keys,
    then inserted template lines."""
    values: list[Candidate] = []
    inserted: list[Candidate] = []
    literals: list[Candidate] = []
    lines: list[Candidate] = []
    for chart in chart_dirs(root, texts):
        values_path = _join(chart, VALUES_FILE)
        body = strip_bom(texts[values_path])[0] if values_path in texts else None
        document = _values_root(body) if body is not None else None
        if body is not None:
            values.extend(_value_scalars(values_path, body, document))
        refs: set[str] = set()
        templates: dict[str, str] = {}
        for path, text in sorted(texts.items()):
            if not _within(path, _join(chart, TEMPLATE_DIR)):
                continue  # a sub-chart's templates are under its own directory
            template = templates[path] = strip_bom(text)[0]
            literals.extend(_literals(path, template))
            lines.extend(_image_lines(path, template))
            refs.update(_policy_refs(template))
        refs.update(_handed_refs(templates.values()))
        if body is not None:
            for ref in sorted(refs):
                found = _insertion(values_path, body, document, ref.split("."))
                if found is not None:
                    inserted.append(found)
    return [*values, *literals, *inserted, *lines]


def decoded(files: Mapping[str, bytes]) -> dict[str, str]:
    """The files a candidate may edit (values and templates), decoded; others are left out."""
    texts: dict[str, str] = {}
    for path, data in files.items():
        if path.endswith((".yaml", ".yml", ".tpl")):
            try:
                texts[path] = decode(data)
            except Unparseable:
                continue
    return texts


# --- values.yaml ---------------------------------------------------------------------------


def _values_root(body: str) -> MappingNode | None:
    try:
        parsed = parse(body, split=False)
        root = next((document for _, _, document in parsed.documents()), None)
        entries(root)  # duplicate keys: no candidate in a file Helm itself would misread
    except Unparseable:
        return None
    return root if isinstance(root, MappingNode) else None


def _value_scalars(path: str, body: str, root: Node | None) -> Iterator[Candidate]:
    """Scalars that are a pull policy by name (not Always, empty included) or by value."""
    for keys, node in _scalars(root, ()):
        value = "" if node.tag.endswith(":null") else str(node.value)
        by_name = POLICY_NAME.search(keys[-1]) is not None and value != ALWAYS
        if not by_name and value not in NOT_ALWAYS:
            continue
        try:
            edit = replace_value(node, body)
        except Unfixable:
            continue
        mark = node.start_mark
        yield Candidate(
            path, edit, mark.line + 1, mark.column + 1, Source.HELM_VALUES, ".".join(keys)
        )


def _scalars(node: Node | None, keys: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Node]]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if not isinstance(key, ScalarNode) or key.tag.endswith(":merge"):
                continue
            if isinstance(value, ScalarNode):
                yield (*keys, str(key.value)), value
            else:
                yield from _scalars(value, (*keys, str(key.value)))


def _insertion(path: str, body: str, root: MappingNode | None, keys: list[str]) -> Candidate | None:
    """`keys` inserted with Always, under the deepest block mapping that already exists."""
    node: MappingNode | None = root
    depth = 0
    while node is not None and depth < len(keys):
        entry = entries(node).get(keys[depth])
        if entry is None:
            break
        if not isinstance(entry.value, MappingNode) or entry.value.flow_style:
            return None  # present (a scalar: a values candidate) or not a block mapping
        node, depth = entry.value, depth + 1
    if depth == len(keys):
        return None
    eol = line_ending(body)
    if node is None or not node.value:
        if depth or root is not None:
            return None  # an empty or flow mapping: no line to follow
        column, at = 0, len(body)
        prefix = "" if not body or body.endswith("\n") else eol
        step = DEFAULT_STEP
    elif node.flow_style:
        return None
    else:
        column = node.value[0][0].start_mark.column
        at = _line_end(body, _last_scalar(node).end_mark.index)
        prefix = eol
        step = _step(root) or DEFAULT_STEP
    lines = [f"{' ' * (column + step * level)}{key}:" for level, key in enumerate(keys[depth:-1])]
    last = f"{' ' * (column + step * (len(keys) - depth - 1))}{keys[-1]}: {ALWAYS}"
    text = prefix + eol.join([*lines, last]) + ("" if prefix else eol)
    line = body.count("\n", 0, at) + (2 if prefix else 1)
    return Candidate(
        path,
        Edit(at, at, text),
        line,
        column + 1,
        Source.HELM_VALUES,
        ".".join(keys),
        created=True,
    )


def _last_scalar(node: Node) -> Node:
    while isinstance(node, MappingNode | SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    return node


def _line_end(body: str, index: int) -> int:
    while index > 0 and body[index - 1] in "\r\n":
        index -= 1  # block scalars end after their line breaks
    end = body.find("\n", index)
    if end < 0:
        return len(body)
    return end - 1 if end > 0 and body[end - 1] == "\r" else end


def _step(root: MappingNode | None) -> int | None:
    """The file's indentation step: how far its first nested block mapping is indented."""
    if root is None:
        return None
    for key, value in root.value:
        if isinstance(value, MappingNode) and value.value and not value.flow_style:
            step = value.value[0][0].start_mark.column - key.start_mark.column
            return step if step > 0 else None
    return None


# --- templates -------------------------------------------------------------------------------


def _policy_refs(template: str) -> set[str]:
    """`.Values` keys named like a pull policy that a template (or helper) reads."""
    return {
        match.group("path")
        for match in VALUES_REF.finditer(template)
        if POLICY_NAME.search(match.group("path").rsplit(".", 1)[-1])
    }


def _handed_refs(templates: Iterable[str]) -> set[str]:
    """`.Values` keys named like a pull policy that a helper or a `with` block reads relative
    to a values mapping it is handed: `include "app.policy" .Values.image` with a helper that
    reads `.pullPolicy` gives `image.pullPolicy` (inserted when values.yaml lacks it)."""
    texts = list(templates)
    helpers: dict[str, set[str]] = {}
    for text in texts:
        marks = list(DEFINE.finditer(text))
        if not marks:
            continue
        ends = [mark.start() for mark in marks[1:]] + [len(text)]
        for mark, end in zip(marks, ends, strict=True):
            body = text[mark.end() : end]
            helpers.setdefault(mark.group("name"), set()).update(_relative_policies(body))
    refs: set[str] = set()
    for text in texts:
        for match in HANDED.finditer(text):
            if match.group("with") is not None:
                keys = _relative_policies(text[match.end() :])
            else:
                keys = helpers.get(match.group("name"), set())
            refs.update(f"{match.group('path')}.{key}" for key in keys)
    return refs


def _relative_policies(text: str) -> set[str]:
    return {
        match.group("key")
        for match in RELATIVE_REF.finditer(text)
        if POLICY_NAME.search(match.group("key"))
    }


def _literals(path: str, template: str) -> Iterator[Candidate]:
    for match in LITERAL.finditer(template):
        start, end = match.span("value")
        line = template.count("\n", 0, start) + 1
        column = start - template.rfind("\n", 0, start)
        yield Candidate(path, Edit(start, end, ALWAYS), line, column, Source.HELM_TEMPLATE)


def _image_lines(path: str, template: str) -> Iterator[Candidate]:
    """`image:` lines of containers that write no pull policy: a line goes after each."""
    lines = template.splitlines(keepends=True)
    starts = [0]
    for text in lines:
        starts.append(starts[-1] + len(text))
    eol = line_ending(template)
    for match in IMAGE_LINE.finditer(template):
        column = len(match.group("indent")) + len(match.group("dash") or "")
        number = template.count("\n", 0, match.start())
        if any(POLICY_KEY in text for text in _block(lines, number, column)):
            continue
        end = _line_end(template, match.end())
        edit = Edit(end, end, f"{eol}{' ' * column}{POLICY_KEY}: {ALWAYS}")
        yield Candidate(path, edit, number + 1, column + 1, Source.HELM_TEMPLATE)


def _block(lines: list[str], number: int, column: int) -> list[str]:
    """The lines of the mapping that holds line `number`'s key at `column`: its siblings and
    their children, template-only lines (`{{- if ... }}`) included."""
    block = [lines[number]]
    if lines[number][:column].strip() != "-":  # not `- image:`: siblings may come before it
        for text in reversed(lines[:number]):
            indent = _indent(text)
            if indent is not None and indent < column and not ACTION_ONLY.match(text):
                if indent == column - 2 and text.lstrip().startswith("-"):
                    block.append(text)  # the `- ` that starts this container
                break
            block.append(text)
    for text in lines[number + 1 :]:
        indent = _indent(text)
        if indent is not None and indent < column and not ACTION_ONLY.match(text):
            break
        block.append(text)
    return block


def _indent(text: str) -> int | None:
    """Indentation of a content line; None for blank lines and comments."""
    stripped = text.lstrip(" ")
    if not stripped.strip() or stripped.startswith("#"):
        return None
    return len(text) - len(stripped)


def _within(path: str, directory: str) -> bool:
    return not directory or path.startswith(directory + "/")


def _join(root: str, name: str) -> str:
    return posixpath.join(root, name) if root else name
