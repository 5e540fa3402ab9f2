"""Byte-minimal edits: splice `imagePullPolicy: Always` into the original text (FIDELITY.md).

Nothing is re-serialised: every edit replaces one value token or inserts one line (or one
flow entry) at an offset the parser located.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode

from workers.core.detect import ALWAYS, POLICY_KEY, Target
from workers.core.inheritance import line_owner
from workers.core.yamldoc import MERGE_TAG

# Anchors and tags before a scalar; the last may end the node (`imagePullPolicy: &p`, empty).
PROPERTIES = re.compile(r"(?:[&!]\S*(?:\s+|\Z))*")


@dataclass(frozen=True, order=True)
class Edit:
    start: int
    end: int
    text: str


class Unfixable(Exception):
    """This container cannot be patched without guessing; the message says why."""


def line_ending(body: str) -> str:
    first = body.find("\n")
    return "\r\n" if first > 0 and body[first - 1] == "\r" else "\n"


def is_json(path: str, body: str) -> bool:
    return path.lower().endswith(".json") or body.lstrip().startswith(("{", "["))


def edit_for(target: Target, body: str, *, json_style: bool, eol: str) -> Edit:
    if target.blocked is not None:
        raise Unfixable(target.blocked)
    if target.policy is not None and not target.own_line:
        return replace_value(target.policy.value, body, json_style=json_style)
    if target.image is None:
        raise Unfixable("container has no image")
    owner = line_owner(target.container, target.image, target.defaults, own=target.own_line)
    key: Node
    value: Node
    if target.image.owner is owner:
        key, value = target.image.key, target.image.value
    else:  # image inherited through `<<`: add our key next to the merge key of this mapping
        key, value = _merge_entry(owner)
    if owner.flow_style:
        return _insert_flow(owner, key, value, body, json_style=json_style, eol=eol)
    if value.start_mark.index < key.start_mark.index:
        # `<<: *base`: the value is the anchored mapping, written earlier; the line goes
        # after the alias, which ends the merge key's own line.
        value = key
    return _insert_line(key, value, body, eol=eol, json_style=json_style)


def apply(body: str, edits: Iterable[Edit]) -> str:
    unique = sorted(set(edits))
    for before, after in itertools.pairwise(unique):
        if after.start < before.end or (after.start == before.start):
            raise Unfixable("overlapping edits")
    parts: list[str] = []
    cursor = 0
    for edit in unique:
        parts.append(body[cursor : edit.start])
        parts.append(edit.text)
        cursor = edit.end
    parts.append(body[cursor:])
    return "".join(parts)


def replace_value(node: Node, body: str, *, json_style: bool = False) -> Edit:
    if not isinstance(node, ScalarNode):
        raise Unfixable(f"{POLICY_KEY} is not a scalar")
    if node.style in ("|", ">"):
        raise Unfixable(f"{POLICY_KEY} is a block scalar")
    start, end = node.start_mark.index, node.end_mark.index
    properties = PROPERTIES.match(body, start, end)
    token_start = properties.end() if properties else start
    if token_start >= end:  # empty value: `imagePullPolicy:` (possibly after an anchor)
        gap = "" if body[token_start - 1 : token_start].isspace() else " "
        return Edit(token_start, token_start, gap + ALWAYS)
    quote = node.style if node.style in ("'", '"') else ""
    if json_style and not quote:
        quote = '"'  # `null` in JSON: a bare word would not be JSON any more
    return Edit(token_start, end, f"{quote}{ALWAYS}{quote}")


def _merge_entry(container: MappingNode) -> tuple[Node, Node]:
    for key, value in container.value:
        if isinstance(key, ScalarNode) and key.tag == MERGE_TAG:
            return key, value
    raise Unfixable("image is inherited but no merge key found")


def _content_end(node: Node, body: str) -> int:
    # Block scalars' end marks sit after their trailing line breaks.
    end = node.end_mark.index
    while end > node.start_mark.index and body[end - 1] in "\r\n":
        end -= 1
    return end


KEEP_CHOMPING = re.compile(r"[|>](?:[1-9]?\+|\+[1-9]?)")


def _insert_line(key: Node, value: Node, body: str, *, eol: str, json_style: bool) -> Edit:
    indent = " " * key.start_mark.column
    entry = f'"{POLICY_KEY}": "{ALWAYS}"' if json_style else f"{POLICY_KEY}: {ALWAYS}"
    start, end = value.start_mark.index, value.end_mark.index
    properties = PROPERTIES.match(body, start, end)
    header = properties.end() if properties else start
    if KEEP_CHOMPING.match(body, header) and body[end - 1 : end] == "\n":
        # `|+` keeps its trailing blank lines as content: the new line goes after them.
        return Edit(end, end, f"{indent}{entry}{eol}")
    line_end = body.find("\n", _content_end(value, body))
    if line_end < 0:
        line_end = len(body)  # last line without a final newline: the output keeps none either
    elif line_end > 0 and body[line_end - 1] == "\r":
        line_end -= 1
    return Edit(line_end, line_end, f"{eol}{indent}{entry}")


def _insert_flow(
    container: MappingNode, key: Node, value: Node, body: str, *, json_style: bool, eol: str
) -> Edit:
    end = _content_end(value, body)
    if not json_style or container.start_mark.line == container.end_mark.line:
        entry = f'"{POLICY_KEY}": "{ALWAYS}"' if json_style else f"{POLICY_KEY}: {ALWAYS}"
        return Edit(end, end, f", {entry}")
    # Multi-line JSON: the new member goes on its own line, commas kept valid.
    after = end
    while after < len(body) and body[after] in " \t":
        after += 1
    indent = " " * key.start_mark.column
    member = f'"{POLICY_KEY}": "{ALWAYS}"'
    if after < len(body) and body[after] == ",":
        return Edit(after + 1, after + 1, f"{eol}{indent}{member},")
    if after < len(body) and body[after] in "\r\n":
        return Edit(end, end, f",{eol}{indent}{member}")
    return Edit(end, end, f", {member}")


def edits_for(
    targets: Sequence[Target], body: str, *, json_style: bool, eol: str
) -> tuple[list[Edit], list[tuple[Target, str]]]:
    """Edits for every target that can be fixed, and the ones that cannot with the reason.

    A container that inherits the line another fix writes (detect marks it `covered`: it
    merges that container through `<<`, or is a Tekton step of that stepTemplate) needs none.
    """
    edits: list[Edit] = []
    failed: list[tuple[Target, str]] = []
    for target in targets:
        if target.covered:
            continue
        try:
            edits.append(edit_for(target, body, json_style=json_style, eol=eol))
        except Unfixable as error:
            failed.append((target, str(error)))
    return edits, failed


def insert_policy(
    container: MappingNode,
    image_key: Node,
    image_value: Node,
    body: str,
    *,
    json_style: bool,
    eol: str,
) -> Edit:
    """`imagePullPolicy: Always` added to `container` beside its `image` entry: a new line at
    that key's column, or a flow entry for a flow mapping."""
    if container.flow_style:
        return _insert_flow(container, image_key, image_value, body, json_style=json_style, eol=eol)
    return _insert_line(image_key, image_value, body, eol=eol, json_style=json_style)
