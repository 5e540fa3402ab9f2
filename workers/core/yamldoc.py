"""Parse YAML/JSON text into position-carrying nodes, refusing input that is unsafe to edit.

libyaml (PyYAML's C loader) only *locates* things here: node marks give character offsets into
the text, and the patcher edits the original text at those offsets. Nothing is re-serialised.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml
from yaml._yaml import CParser
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
MAX_DEPTH = 1000  # libyaml's composer recurses in C: very deep input would crash the process
DEPTH_CHECK_BOUND = 5000  # below this cheap upper bound, nesting cannot reach MAX_DEPTH
MAX_EXPANDED_NODES = 1_000_000  # nodes after alias expansion; beyond is an alias bomb
BOM = "\ufeff"


class Unparseable(Exception):
    """The text cannot be analysed safely; the message is the reason reported to the user."""


class DuplicateKey(Unparseable):
    """Parsers disagree on which value of a duplicated key wins: never guess."""

    def __init__(self, name: str, key: Node, line_offset: int = 0) -> None:
        super().__init__(f"duplicate key {name!r} at line {line_offset + key.start_mark.line + 1}")
        self.name = name
        self.key = key


@dataclass(frozen=True)
class Chunk:
    """A stretch of the text that starts at a `---` line (or at the top of the file).

    Node marks are relative to `text`; `start` and `line` place it in the file. `documents`
    is None for a chunk that was not worth composing (no container in it, or a kind that is
    never a workload): it still counts its documents so indices match a whole-file parse.
    """

    start: int
    line: int
    text: str
    first_index: int  # index in the file of this chunk's first document
    documents: tuple[Node | None, ...] | None


@dataclass(frozen=True)
class ParsedText:
    """Documents of one file. `body` is the text without its BOM."""

    body: str
    bom: bool
    chunks: tuple[Chunk, ...]

    def documents(self) -> Iterator[tuple[Chunk, int, Node]]:
        """(chunk, index in file, root) of every composed, non-empty document."""
        for chunk in self.chunks:
            for offset, root in enumerate(chunk.documents or ()):
                if root is not None:
                    yield chunk, chunk.first_index + offset, root


# A BOM names the encoding (YAML 1.2 allows all four); without one, UTF-8. UTF-32's BOMs come
# first: UTF-32-LE's begins with UTF-16-LE's.
WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def encoding_of(data: bytes) -> str:
    """The codec that decodes `data`, and encodes its fix back to the same bytes: the BOM is
    decoded as U+FEFF (which `parse` strips and the fix puts back) and encoded the same way."""
    return next((codec for bom, codec in WIDE_BOMS if data.startswith(bom)), "utf-8")


def decode(data: bytes) -> str:
    codec = encoding_of(data)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise Unparseable(f"not valid {codec.upper()} (byte {error.start})") from None


# A `---` or `...` at column 0 followed by a blank is always a document marker in YAML, even
# inside a scalar, so splitting the text there agrees with any conforming parser.
DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|\Z)", re.MULTILINE)
NO_SPLIT = re.compile(r"^(?:%|\.\.\.(?=[ \t\r\n]|\Z))", re.MULTILINE)
ANCHOR = re.compile(r"(?:^|[ \t\[{,])&[^\s\]},]", re.MULTILINE)
CONTENT_LINE = re.compile(r"^[ \t]*[^\s#]", re.MULTILINE)


def parse(
    text: str, wanted: Callable[[str], bool] | None = None, *, split: bool = True
) -> ParsedText:
    """Split at document markers and compose the chunks `wanted` accepts (all by default).

    Directives and `...` markers make document boundaries depend on context: such files (and
    every file when `split` is False) are composed whole, as one chunk.
    """
    body, bom = strip_bom(text)
    return ParsedText(body, bom, tuple(iter_chunks(body, wanted, split=split)))


def strip_bom(text: str) -> tuple[str, bool]:
    """The text without its BOM, and whether it had one."""
    return (text[1:], True) if text.startswith(BOM) else (text, False)


def iter_chunks(
    body: str, wanted: Callable[[str], bool] | None = None, *, split: bool = True
) -> Iterator[Chunk]:
    """`parse`'s chunks one at a time, for a body without BOM: a caller that is done with a
    chunk lets its nodes go, so memory stays that of one chunk plus the results."""
    if "\x00" in body:
        raise Unparseable("binary content (NUL byte)")
    if not split or (("%" in body or "..." in body) and NO_SPLIT.search(body)):
        yield _compose_chunk(0, 0, body, 0, expected=None)
        return
    starts = [match.start() for match in DOCUMENT_START.finditer(body)] if "---" in body else []
    bounds = [0, *starts] if not starts or starts[0] != 0 else starts
    marked = set(starts)  # a set: a list lookup per chunk made many-document files quadratic
    index = 0
    line = 0
    for number, begin in enumerate(bounds):
        end = bounds[number + 1] if number + 1 < len(bounds) else len(body)
        chunk_text = body[begin:end]
        # The text before the first `---` is a document only if it holds some content.
        count = 1 if begin in marked or CONTENT_LINE.search(chunk_text) else 0
        if count and (wanted is None or wanted(chunk_text)):
            yield _compose_chunk(begin, line, chunk_text, index, expected=count)
        else:
            yield Chunk(begin, line, chunk_text, index, None)
        index += count
        line += chunk_text.count("\n")


def _compose_chunk(start: int, line: int, text: str, index: int, expected: int | None) -> Chunk:
    _check_depth(text)
    try:
        documents = _compose_all(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {line + mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise Unparseable(f"not valid YAML{where}: {error.problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        raise Unparseable(f"not valid YAML: {error}") from None
    if expected is not None and len(documents) != expected:
        raise Unparseable("document markers could not be matched")  # never seen; be safe
    # Aliases (alias bombs, recursion) need an anchor to refer to; `{{ x }}` left by a Go
    # template parses as a mapping used as a key. Only then is a full walk worth its cost.
    if "{{" in text or ANCHOR.search(text):
        for document in documents:
            if document is not None:
                check_structure(document, line)
    return Chunk(start, line, text, index, documents)


def _compose_all(text: str) -> tuple[Node | None, ...]:
    locator = _Locator(text)
    try:
        documents: list[Node | None] = []
        while locator.check_node():
            documents.append(locator.get_node())
        return tuple(documents)
    finally:
        locator.dispose()


class _Locator(CParser, BaseResolver):
    """libyaml's composer with a minimal resolver: we only need to know null and `<<`.

    (The stock resolver runs a regex cascade in Python for every scalar: most of the time
    spent composing a large manifest.)
    """

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        BaseResolver.__init__(self)

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:
            if value in NULL_WORDS:
                return NULL_TAG
            if value == "<<":
                return MERGE_TAG
        if kind is ScalarNode:
            return STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _check_depth(body: str) -> None:
    # Nesting depth is bounded by the flow brackets plus the longest line (block nesting needs
    # indentation or a compact indicator per level); only when that bound is high do we pay for
    # an exact, non-recursive count over libyaml's event stream.
    if len(body) <= DEPTH_CHECK_BOUND:
        return
    longest_line = max(map(len, body.split("\n")))
    if body.count("[") + body.count("{") + longest_line <= DEPTH_CHECK_BOUND:
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


def check_structure(root: Node, line_offset: int = 0) -> None:
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
            _check_duplicate_keys(node, line_offset)
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


def _check_duplicate_keys(node: MappingNode, line_offset: int) -> None:
    seen: set[str] = set()
    for key, _ in node.value:
        if not isinstance(key, ScalarNode):
            line = line_offset + key.start_mark.line + 1
            raise Unparseable(f"a mapping or list used as a key at line {line} (a template?)")
        if isinstance(key, ScalarNode) and key.tag != MERGE_TAG:
            if key.value in seen:
                raise DuplicateKey(str(key.value), key, line_offset)
            seen.add(key.value)


def scalar(node: Node | None) -> str | None:
    """The text of a scalar node; None for anything else (missing, mapping, sequence, null)."""
    if isinstance(node, ScalarNode) and node.tag != NULL_TAG:
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
            name = str(key.value)
            if name in result:
                raise DuplicateKey(name, key)
            result[name] = Entry(key, value, node)
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
