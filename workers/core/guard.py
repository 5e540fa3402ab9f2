"""The semantic guard: old and new text, read by an independent parser, may differ only by
`imagePullPolicy: Always` where we meant to put it.

The locator is PyYAML's libyaml composer walked by our own code; the guard reads with
ruamel.yaml's safe loader (its own constructor and YAML 1.2 resolver, on ruamel.yaml.clib's
scanner when installed); what it rejects (duplicate keys, say) is left unchanged.
Any parser that rebuilds both texts from scratch catches a misplaced edit; a second library
keeps one library's quirks from hiding it. What parsers drop, the guard compares as text:
comments (`check`), and the BOM and line breaks of the whole file (`check_file`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelError

from workers.core.detect import ALWAYS, POLICY_KEY
from workers.core.workloads import Path

# A tab before a comment is valid YAML (kubectl accepts it) that both pure-Python parsers
# reject; it is whitespace either way, so the guard reads it as a space.
TAB_BEFORE_COMMENT = re.compile(r"\t(?=[ \t]*#)")
MAX_COMPARISONS = 2_000_000
# Quoted scalars are blanked before looking for comments, so a `#` inside one is not taken
# for a comment; `#` starts a comment at the start of a line or after whitespace (YAML 1.2).
QUOTED = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\n]|'')*'")
COMMENT = re.compile(r"(?:^|(?<=[ \t]))#[^\r\n]*", re.MULTILINE)
BOM = "\ufeff"

Located = tuple[int, Path]  # (document index, path within the document)


class GuardFailure(Exception):
    """The patched text does not mean what we intended; the message says what differs."""


def check(
    old: str,
    new: str,
    *,
    containers: Iterable[Located],
    edited: Iterable[Located],
    json_file: bool,
    numbers: Sequence[int] = (),
) -> None:
    """Raise GuardFailure unless `new` equals `old` plus `imagePullPolicy: Always` on exactly
    the `containers` (and at `edited`: scalars or mappings written elsewhere and reached
    through anchors or merge keys). `numbers[i]` is how messages name document `i` (when the
    texts are a selection of a file's documents)."""
    before, after = _load_pair(old, new)
    _check_comments(old, new)
    if json_file:
        _check_json(old, new)
    containers = set(containers)
    allowed = {(doc, (*path, POLICY_KEY)) for doc, path in containers}
    allowed.update(edited)
    allowed.update((doc, (*path, POLICY_KEY)) for doc, path in edited)
    if len(before) != len(after):
        raise GuardFailure("the number of documents changed")
    for index, (old_doc, new_doc) in enumerate(zip(before, after, strict=True)):
        for path, new_value in _differences(old_doc, new_doc):
            if (index, path) not in allowed or new_value != ALWAYS:
                number = numbers[index] if numbers else index
                raise GuardFailure(f"unexpected change at document {number}, {_show(path)}")
    for doc, path in containers:
        if _at(after[doc], (*path, POLICY_KEY)) != ALWAYS:
            number = numbers[doc] if numbers else doc
            raise GuardFailure(f"document {number}, {_show(path)} is not Always after the fix")


def check_file(old: str, new: str) -> None:
    """Raise GuardFailure if the whole patched file (decoded, BOM included) lost its BOM or
    changed its line breaks: no break may be removed or converted, and a file that uses only
    one kind (CRLF or LF) gets no line break of the other kind."""
    if old.startswith(BOM) != new.startswith(BOM):
        raise GuardFailure("the byte order mark changed")
    old_crlf, old_lf = _line_breaks(old)
    new_crlf, new_lf = _line_breaks(new)
    if new_crlf < old_crlf or new_lf < old_lf:
        raise GuardFailure("line breaks were removed or converted")
    if (old_crlf and not old_lf and new_lf) or (old_lf and not old_crlf and new_crlf):
        raise GuardFailure("the patched file mixes CRLF and LF line breaks")


def _line_breaks(text: str) -> tuple[int, int]:
    crlf = text.count("\r\n")
    return crlf, text.count("\n") - crlf


def _check_comments(old: str, new: str) -> None:
    """Every comment of `old` is still in `new` (the parsers compared so far ignore them)."""
    lost = _comments(old) - _comments(new)
    if lost:
        comment = next(iter(lost))
        raise GuardFailure(f"a comment was removed or changed: {comment[:60]!r}")


def _comments(text: str) -> Counter[str]:
    return Counter(COMMENT.findall(QUOTED.sub(_blank, text)))


def _blank(match: re.Match[str]) -> str:
    return "_" * len(match.group())


def _load_pair(old: str, new: str) -> tuple[list[Any], list[Any]]:
    try:
        before = _load(old)
    except (RuamelError, RecursionError, ValueError) as error:
        raise GuardFailure(
            f"the guard's parser cannot read the original: {_problem(error)}"
        ) from None
    try:
        return before, _load(new)
    except (RuamelError, RecursionError, ValueError) as error:
        raise GuardFailure(f"the patched text does not parse: {_problem(error)}") from None


def _load(text: str) -> list[Any]:
    text = TAB_BEFORE_COMMENT.sub(" ", text)
    try:
        return list(YAML(typ="safe").load_all(text))
    except RuamelError:
        # ruamel.yaml.clib's older libyaml rejects some valid YAML 1.2 (`{image: a:1}`):
        # ruamel's pure-Python scanner reads it.
        return list(YAML(typ="safe", pure=True).load_all(text))


def _problem(error: Exception) -> str:
    return str(getattr(error, "problem", None) or error).splitlines()[0]


def _check_json(old: str, new: str) -> None:
    try:
        json.loads(old)
    except ValueError:
        return  # not strict JSON to begin with (YAML in a .json file, JSON lines)
    try:
        json.loads(new)
    except ValueError as error:
        raise GuardFailure(f"the patched file is no longer valid JSON: {error}") from None


def _differences(old: Any, new: Any) -> list[tuple[Path, Any]]:
    """Paths where `new` differs from `old`, with the new value there (None when removed)."""
    found: list[tuple[Path, Any]] = []
    compared: set[tuple[int, int]] = set()
    stack: list[tuple[Path, Any, Any]] = [((), old, new)]
    while stack:
        path, a, b = stack.pop()
        pair = (id(a), id(b))
        if pair in compared:
            continue  # shared through an alias: compared once
        compared.add(pair)
        if len(compared) > MAX_COMPARISONS:
            raise GuardFailure("document too large to compare")
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a.keys() | b.keys():
                child: Path = (*path, key)
                if key not in b:
                    found.append((child, None))
                elif key not in a:
                    found.append((child, b[key]))
                else:
                    stack.append((child, a[key], b[key]))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            stack.extend(((*path, i), x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)))
        elif type(a) is not type(b) or (a != b and not (a != a and b != b)):  # NaN == NaN
            found.append((path, b))
    return found


def _at(document: Any, path: Path) -> Any:
    node = document
    for part in path:
        if isinstance(node, dict):
            if part not in node:
                return None
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _show(path: Path) -> str:
    return "/".join(str(part) for part in path) or "the document root"
