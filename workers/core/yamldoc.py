"""Parse YAML/JSON text into position-carrying nodes, refusing input that is unsafe to edit.

libyaml (PyYAML's C loader) only *locates* things here: node marks give character offsets into
the text, and the patcher edits the original text at those offsets. Nothing is re-serialised.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_DEPTH = 500  # libyaml's composer recurses in C: very deep input would crash the process
MAX_EXPANDED_NODES = 1_000_000  # nodes after alias expansion; beyond is an alias bomb
BOM = "\ufeff"


class Unparseable(Exception):
    """The text cannot be analysed safely; the message is the reason reported to the user."""


@dataclass(frozen=True)
class ParsedText:
    """Documents of one file. Offsets in the nodes are relative to `body` (text without BOM)."""

    body: str
    bom: bool
    documents: tuple[Node | None, ...]


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unparseable(f"not valid UTF-8 (byte {error.start})") from None


def parse(text: str) -> ParsedText:
    bom = text.startswith(BOM)
    body = text[1:] if bom else text
    if "\x00" in body:
        raise Unparseable("binary content (NUL byte)")
    _check_depth(body)
    try:
        documents = tuple(yaml.compose_all(body, Loader=yaml.CSafeLoader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise Unparseable(f"not valid YAML{where}: {error.problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        raise Unparseable(f"not valid YAML: {error}") from None
    for document in documents:
        if document is not None:
            _check_structure(document)
    return ParsedText(body=body, bom=bom, documents=documents)


def _check_depth(body: str) -> None:
    # Nesting depth is bounded by the flow brackets plus the longest line (block nesting needs
    # indentation or a compact indicator per level); only when that bound is high do we pay for
    # an exact, non-recursive count over libyaml's event stream.
    bound = body.count("[") + body.count("{") + max(map(len, body.splitlines()), default=0)
    if bound <= MAX_DEPTH:
        return
    depth = 0
    try:
        for event in yaml.parse(body, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise Unparseable(f"nesting deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # compose reports the syntax error with its position


def _check_structure(root: Node) -> None:
    """Reject duplicate keys, recursive aliases and alias bombs, without recursion."""
    sizes: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_stack.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > MAX_EXPANDED_NODES:
                raise Unparseable("too many aliases (alias expansion is too large)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_stack:
            raise Unparseable("recursive alias")
        on_stack.add(key)
        if isinstance(node, MappingNode):
            _check_duplicate_keys(node)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_stack:
                raise Unparseable("recursive alias")
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def _check_duplicate_keys(node: MappingNode) -> None:
    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, ScalarNode) and key.tag != MERGE_TAG:
            if key.value in seen:
                line = key.start_mark.line + 1
                raise Unparseable(f"duplicate key {key.value!r} at line {line}")
            seen.add(key.value)


def scalar(node: Node | None) -> str | None:
    """The text of a scalar node; None for anything else (missing, mapping, sequence, null)."""
    if isinstance(node, ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        return str(node.value)
    return None


@dataclass(frozen=True)
class Entry:
    """A key of a mapping, as seen after merges: `owner` is the mapping it is written in."""

    key: ScalarNode
    value: Node
    owner: MappingNode


def entries(node: Node | None) -> dict[str, Entry]:
    """Effective keys of a mapping: its own keys win over `<<` merges, earlier merges win."""
    if not isinstance(node, MappingNode):
        return {}
    result: dict[str, Entry] = {}
    merges: list[Node] = []
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.tag == MERGE_TAG:
            merges.extend(value.value if isinstance(value, SequenceNode) else [value])
        elif isinstance(key, ScalarNode):
            result[str(key.value)] = Entry(key, value, node)
    for source in merges:
        for name, entry in entries(source).items():
            result.setdefault(name, entry)
    return result


def get(node: Node | None, *path: str) -> Node | None:
    for name in path:
        entry = entries(node).get(name)
        if entry is None:
            return None
        node = entry.value
    return node


def sequence_items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def node_paths(document: Node, wanted: set[int]) -> dict[int, list[tuple[str | int, ...]]]:
    """Every path (keys and indices) at which the wanted nodes appear, aliases included."""
    found: dict[int, list[tuple[str | int, ...]]] = {key: [] for key in wanted}
    stack: list[tuple[Node, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in found:
            found[id(node)].append(path)
        if isinstance(node, SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            for name, entry in entries(node).items():
                stack.append((entry.value, (*path, name)))
    return found
