"""Where a kustomization's patches decide a container's pull policy, and how to edit them there.

A policy site is an `imagePullPolicy` set by a strategic-merge patch, a JSON 6902 `add` or
`replace` of `.../imagePullPolicy`, or a JSON 6902 op that writes a whole container. Patches are
read from their files or from inside the kustomization (`patch: |`); for the latter, node marks
are relative to the block scalar's content and are mapped back onto the kustomization's lines,
so an edit lands on the line inside the block at its indentation. Pure.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workers.core.detect import POLICY_KEY
from workers.core.findings import Source
from workers.core.kustomizations import resolve
from workers.core.patch import Edit, Unfixable, insert_policy, is_json, line_ending, replace_value
from workers.core.reads import ReadError
from workers.core.yamldoc import Entry, Unparseable, decode, entries, get, parse, scalar

CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Rendered:
    """A rendered container that is not Always: its object, its place and its name."""

    kind: str
    name: str
    path: Path  # from the document root to the container mapping (…, list, index)
    container: str | None  # its `name`


@dataclass(frozen=True)
class Block:
    """A literal block scalar (`patch: |`) inside a file: content offsets -> file offsets."""

    first_line: int  # file line (0-based) of the content's first line
    indent: int
    line_starts: tuple[int, ...]  # offset of every line of the file body
    eol: str
    literal: bool  # `|`: content lines are the file's lines; else (quoted, folded) they are not
    start: tuple[int, int]  # 1-based line and column of the scalar itself

    def offset(self, content: str, index: int) -> int:
        if not self.literal:
            raise Unfixable("the inline patch is not a literal block (`patch: |`)")
        line = content.count("\n", 0, index)
        column = index - (content.rfind("\n", 0, index) + 1)
        return self.line_starts[self.first_line + line] + self.indent + column

    def edit(self, content: str, edit: Edit) -> Edit:
        text = edit.text.replace("\n", self.eol + " " * self.indent)
        return Edit(self.offset(content, edit.start), self.offset(content, edit.end), text)


@dataclass(frozen=True)
class Site:
    """One place in a patch that writes a container's pull policy, or a whole container."""

    path: str  # the file it is written in
    text: str  # the patch text the nodes' marks refer to (the block's content when inline)
    block: Block | None  # set when the patch is inline in a kustomization
    strategic: bool  # strategic merge (else JSON 6902)
    document: int
    target_kind: str | None
    target_name: str | None
    pointer: tuple[str, ...] | None  # JSON 6902: the op's path, split
    keys: tuple[str, ...]  # strategic merge: the mapping keys down to the container list
    container: str | None
    policy: Node | None  # the imagePullPolicy value written here
    mapping: MappingNode | None  # the container mapping written here (None: a scalar op)
    image: Entry | None
    located: Path  # where the edit lands, within its document (for the guard)

    @property
    def source(self) -> Source:
        return Source.MANIFEST if self.strategic and self.block is None else Source.KUSTOMIZE_PATCH

    @property
    def decides(self) -> bool:
        """It writes the policy, or a whole container (which then has this one's policy)."""
        return self.policy is not None or (not self.strategic and self.mapping is not None)

    @property
    def current(self) -> str | None:
        return scalar(self.policy) if self.policy is not None else None

    def position(self) -> tuple[int, int]:
        """1-based line and column in the file: the policy value, else the image key."""
        node = self.policy if self.policy is not None else self._anchor()
        index = node.start_mark.index
        if self.block is None:
            return node.start_mark.line + 1, node.start_mark.column + 1
        if not self.block.literal:
            return self.block.start
        offset = self.block.offset(self.text, index)
        line = bisect.bisect_right(self.block.line_starts, offset) - 1
        return line + 1, offset - self.block.line_starts[line] + 1

    def _anchor(self) -> Node:
        if self.image is not None:
            return self.image.key
        if self.mapping is not None:
            return self.mapping
        raise AssertionError("a site writes a policy or a container")

    def matches(self, rendered: Rendered) -> bool:
        if self.target_kind is not None and self.target_kind != rendered.kind:
            return False
        if self.target_name is not None and not _name_matches(self.target_name, rendered.name):
            return False
        if self.strategic:
            keys = tuple(part for part in rendered.path[:-1] if isinstance(part, str))
            return keys == self.keys and self.container == rendered.container
        assert self.pointer is not None
        place = tuple(str(part) for part in rendered.path)
        if self.mapping is None:  # `.../containers/N/imagePullPolicy`
            return self.pointer[:-1] == place
        if self.pointer[:-1] != place[:-1]:
            return False
        named = self.container is not None and self.container == rendered.container
        return named or (self.container is None and self.pointer[-1] == place[-1])

    def edit(self) -> Edit:
        """The edit that makes this site say Always, in the file's coordinates."""
        json_style = is_json(self.path if self.block is None else "", self.text)
        if self.policy is not None:
            local = replace_value(self.policy, self.text, json_style=json_style)
        elif self.mapping is not None and self.image is not None:
            eol = "\n" if self.block is not None else line_ending(self.text)
            local = insert_policy(
                self.mapping,
                self.image.key,
                self.image.value,
                self.text,
                json_style=json_style,
                eol=eol,
            )
        else:
            raise Unfixable("the patch adds a container without an image")
        return local if self.block is None else self.block.edit(self.text, local)


def _name_matches(pattern: str, name: str) -> bool:
    """A patch's target name, against a rendered name that may carry a prefix or suffix.
    kustomize reads a target's name as a regular expression."""
    if pattern in name:
        return True
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def policy_sites(kustomization: str, body: str, read: Callable[[str], bytes]) -> Iterator[Site]:
    """Every policy site of one kustomization (its body without BOM), in the order kustomize
    applies them: patchesStrategicMerge, patches, patchesJson6902."""
    directory = kustomization.rsplit("/", 1)[0] if "/" in kustomization else ""
    root = _root(body)
    for item in _items(get(root, "patchesStrategicMerge")):
        yield from _patch(kustomization, directory, body, item, None, read)
    for name in ("patches", "patchesJson6902"):
        for item in _items(get(root, name)):
            target = get(item, "target")
            yield from _patch(
                kustomization, directory, body, get(item, "path"), target, read, get(item, "patch")
            )


def _root(body: str) -> Node | None:
    parsed = parse(body, split=False)
    return next((document for _, _, document in parsed.documents()), None)


def _items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def _patch(
    kustomization: str,
    directory: str,
    body: str,
    path_node: Node | None,
    target: Node | None,
    read: Callable[[str], bytes],
    inline: Node | None = None,
) -> Iterator[Site]:
    kind, name = scalar(get(target, "kind")), scalar(get(target, "name"))
    value = scalar(path_node)
    if isinstance(path_node, ScalarNode) and value is not None and "\n" in value:
        inline, value = path_node, None  # an inline strategic-merge patch
    if value is not None:
        file = resolve(directory, value)
        if file is None:
            return
        try:
            text = decode(read(file))
        except (Unparseable, ReadError, OSError, KeyError):
            return  # kustomize reports it; nothing here to attribute
        yield from _sites(file, text.removeprefix("\ufeff"), None, kind, name)
    elif isinstance(inline, ScalarNode) and inline.value:
        block = _block(body, inline)
        yield from _sites(kustomization, str(inline.value), block, kind, name)


def _block(body: str, node: ScalarNode) -> Block:
    """The mapping of a literal block scalar's content onto the file (a quoted or folded
    patch cannot be edited line by line)."""
    starts = [0, *(match.end() for match in re.finditer("\n", body))]
    first = node.start_mark.line + 1
    indent = 0
    for line in range(first, min(node.end_mark.line + 1, len(starts))):
        end = starts[line + 1] if line + 1 < len(starts) else len(body)
        text = body[starts[line] : end].rstrip("\r\n")
        if text.strip():
            indent = len(text) - len(text.lstrip(" "))
            break
    start = (node.start_mark.line + 1, node.start_mark.column + 1)
    return Block(first, indent, tuple(starts), line_ending(body), node.style == "|", start)


def _sites(
    path: str, text: str, block: Block | None, kind: str | None, name: str | None
) -> Iterator[Site]:
    try:
        parsed = parse(text, split=False)
    except Unparseable:
        return
    for _, index, document in parsed.documents():
        if isinstance(document, SequenceNode):
            yield from _json_sites(path, text, block, index, document, kind, name)
        elif isinstance(document, MappingNode):
            own_kind = kind or scalar(get(document, "kind"))
            own_name = name or scalar(get(document, "metadata", "name"))
            for keys, located, container in _containers(document, (), ()):
                fields = entries(container)
                policy = fields.get(POLICY_KEY)
                yield Site(
                    path,
                    text,
                    block,
                    True,
                    index,
                    own_kind,
                    own_name,
                    None,
                    keys,
                    scalar(get(container, "name")),
                    policy.value if policy else None,
                    container,
                    fields.get("image"),
                    located,
                )


def _containers(
    node: Node, keys: tuple[str, ...], located: Path
) -> Iterator[tuple[tuple[str, ...], Path, MappingNode]]:
    """Container mappings of a strategic-merge patch, with the keys down to their list."""
    if isinstance(node, MappingNode):
        for name, entry in entries(node).items():
            if name in CONTAINER_LISTS and isinstance(entry.value, SequenceNode):
                for position, item in enumerate(entry.value.value):
                    if isinstance(item, MappingNode):
                        yield (*keys, name), (*located, name, position), item
            else:
                yield from _containers(entry.value, (*keys, name), (*located, name))
    elif isinstance(node, SequenceNode):
        for position, item in enumerate(node.value):
            yield from _containers(item, keys, (*located, position))


# `/spec/template/spec/containers/0/imagePullPolicy`, `/spec/.../initContainers/-`
OP_PATH = re.compile(r"^(?:/[^/]+)*/(?:containers|initContainers|ephemeralContainers)/(?:\d+|-)")


def _json_sites(
    path: str,
    text: str,
    block: Block | None,
    document: int,
    ops: SequenceNode,
    kind: str | None,
    name: str | None,
) -> Iterator[Site]:
    for number, op in enumerate(ops.value):
        verb, pointer = scalar(get(op, "op")), scalar(get(op, "path"))
        value = get(op, "value")
        if verb not in ("add", "replace") or pointer is None or value is None:
            continue
        if not OP_PATH.match(pointer):
            continue
        parts = tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/"))
        located: Path = (number, "value")
        if parts[-1] == POLICY_KEY and parts[-3] in CONTAINER_LISTS:
            yield Site(
                path, text, block, False, document, kind, name, parts, (), None, value, None,
                None, located,
            )  # fmt: skip
        elif parts[-2] in CONTAINER_LISTS and isinstance(value, MappingNode):
            fields = entries(value)
            policy = fields.get(POLICY_KEY)
            yield Site(
                path, text, block, False, document, kind, name, parts, (),
                scalar(get(value, "name")), policy.value if policy else None, value,
                fields.get("image"), located,
            )  # fmt: skip
