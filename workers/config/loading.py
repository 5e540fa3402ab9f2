"""Reading `.pullpolicy.yml`: text in, a `Config` out, or a `ConfigError` naming key path and line.

The file comes from the scanned repository, so it is untrusted input: every failure becomes a
`ConfigError`, and size, nesting and alias expansion are bounded before anything is built.

Values are validated in pydantic's strict JSON mode, the same rules the JSON Schema states:
a boolean must be a YAML boolean (`true`, `false`, and YAML 1.1's unquoted `yes`/`no`/`on`/`off`),
so a quoted `"true"` or `1` is an error rather than a guess; a list must be a list, so
`include: "*.yaml"` is an error instead of being split; strings must be strings (quote `1.0`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ValidationError
from yaml.reader import ReaderError

from workers.config.model import CONFIG_FILENAME, Config

MAX_CONFIG_CHARS = 1024 * 1024
MAX_DEPTH = 64  # libyaml's composer recurses in C: very deep nesting would crash the worker
MAX_NODES = 100_000  # bounds alias expansion ("billion laughs")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    """Dotted key path, "" for the document root, list indices as `[0]`."""
    message: str
    """A human sentence; includes "did you mean 'x'?" when a key looks misspelt."""
    line: int | None
    """1-based line in the file, when the offending key or value could be located."""


class ConfigError(Exception):
    """The file is not a valid `.pullpolicy.yml`; `str()` gives one `FILE:LINE: path: message`
    line per issue."""

    def __init__(self, issues: Iterable[ConfigIssue], source: str = CONFIG_FILENAME) -> None:
        self.issues = tuple(issues)
        self.source = source
        super().__init__("\n".join(_render(source, issue) for issue in self.issues))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[ConfigIssue, ...], str]]:
        # Exceptions cross process boundaries (Celery); keep them picklable.
        return (type(self), (self.issues, self.source))


def parse_config(text: str | bytes, source: str = CONFIG_FILENAME) -> Config:
    """Parse a `.pullpolicy.yml`; an empty or `null` document gives the defaults.

    Raises `ConfigError` (and nothing else) for any invalid input.
    """
    try:
        data, lines = _load(_decode(text))
        if data is None:
            return Config()
        if not isinstance(data, dict):
            where = lines.get(())
            message = f"expected a mapping of keys at the top level, got {_describe(data)}"
            raise _Invalid([ConfigIssue("", message, where.value if where else None)])
        try:  # strict JSON mode: exactly what the JSON Schema allows (see the docstring)
            return Config.model_validate_json(json.dumps(data), strict=True)
        except ValidationError as exc:
            issues = [_issue_from(error, lines) for error in exc.errors()]
            raise _Invalid(sorted(issues, key=_file_order)) from None
    except _Invalid as invalid:
        raise ConfigError(invalid.issues, source) from None


class _Invalid(Exception):
    """Internal: carries issues up to `parse_config`, which knows the source name."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        super().__init__()
        self.issues = tuple(issues)


class _Where(NamedTuple):
    key: int
    value: int


def _render(source: str, issue: ConfigIssue) -> str:
    parts = [source if issue.line is None else f"{source}:{issue.line}"]
    if issue.path:
        parts.append(issue.path)
    parts.append(issue.message)
    return ": ".join(parts)


def _file_order(issue: ConfigIssue) -> tuple[bool, int]:
    return (issue.line is None, issue.line or 0)


def _decode(text: str | bytes) -> str:
    if len(text) > MAX_CONFIG_CHARS:
        raise _Invalid([ConfigIssue("", f"file is larger than {MAX_CONFIG_CHARS} bytes", None)])
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = text.count(b"\n", 0, exc.start) + 1
            message = f"not valid UTF-8 (byte 0x{text[exc.start]:02x})"
            raise _Invalid([ConfigIssue("", message, line)]) from None
    try:
        text.encode("utf-8")  # lone surrogates would otherwise escape libyaml as UnicodeError
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise _Invalid([ConfigIssue("", "not valid UTF-8 (lone surrogate)", line)]) from None
    return text.removeprefix("\ufeff")


def _load(text: str) -> tuple[object, dict[Loc, _Where]]:
    """Plain data (dict, list, str, int, float, bool, None) and where each key path sits."""
    loader = yaml.CSafeLoader(text)
    try:
        _check_events(text)
        root = loader.get_single_node()
        if root is None:
            return None, {}
        reader = _TreeReader(loader)
        return reader.read(root, ()), reader.lines
    except yaml.YAMLError as exc:
        raise _Invalid([_yaml_issue(exc, text)]) from None
    finally:
        loader.dispose()


def _check_events(text: str) -> None:
    """Reject several documents and deep nesting before composing a node tree."""
    # The event stream is produced iteratively, so it is safe to scan whatever the nesting.
    depth = documents = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                message = "found a second YAML document; the file must hold exactly one"
                raise _Invalid([ConfigIssue("", message, line)])
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Invalid([ConfigIssue("", f"nested deeper than {MAX_DEPTH} levels", line)])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _yaml_issue(exc: yaml.YAMLError, text: str) -> ConfigIssue:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or "syntax error"
        if exc.context:
            message += f" ({exc.context})"
        return ConfigIssue("", f"invalid YAML: {message}", mark.line + 1 if mark else None)
    if isinstance(exc, ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return ConfigIssue("", f"invalid YAML: {exc.reason}", line)
    return ConfigIssue("", f"invalid YAML: {exc}", None)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _TreeReader:
    """Builds plain data from the composed node tree, recording each key path's lines."""

    def __init__(self, loader: yaml.CSafeLoader) -> None:
        self.loader = loader
        self.lines: dict[Loc, _Where] = {}
        self.nodes_read = 0

    def read(self, node: yaml.Node, loc: Loc) -> object:
        self.nodes_read += 1
        if self.nodes_read > MAX_NODES or len(loc) > MAX_DEPTH:
            message = f"aliases expand to more than {MAX_NODES} values or {MAX_DEPTH} levels"
            raise _Invalid([ConfigIssue(_dotted(loc[:1]), message, _line(node))])
        if not loc:
            self.lines[loc] = _Where(_line(node), _line(node))
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
            message = f"unsupported YAML tag {_short(node.tag)}"  # `!!set`, `!!omap`, custom tags
            raise _Invalid([ConfigIssue(_dotted(loc), message, _line(node))])
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*loc, index)] = _Where(_line(item), _line(item))
                items.append(self.read(item, (*loc, index)))
            return items
        return self._scalar(node, loc)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, object]:
        # PyYAML keeps the last of duplicate keys silently; a config must not hide one.
        first_seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._key(key_node, loc)
            if key in first_seen:
                message = f"duplicate key '{key}' (first at line {first_seen[key]})"
                raise _Invalid([ConfigIssue(_dotted((*loc, key)), message, _line(key_node))])
            first_seen[key] = _line(key_node)
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merges, explicit keys win
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, loc)
            self.lines[(*loc, key)] = _Where(_line(key_node), _line(value_node))
            result[key] = self.read(value_node, (*loc, key))
        return result

    def _key(self, node: yaml.Node, loc: Loc) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise _Invalid([ConfigIssue(_dotted(loc), "keys must be plain text", _line(node))])
        return str(node.value)

    def _scalar(self, node: yaml.Node, loc: Loc) -> object:
        try:
            value = self.loader.construct_object(node)
        # Each tag's constructor fails its own way (ValueError, KeyError, AttributeError...).
        except Exception:
            message = f"cannot read {node.value!r} as {_short(node.tag)}"
            raise _Invalid([ConfigIssue(_dotted(loc), message, _line(node))]) from None
        if value is None or isinstance(value, str | int | float):
            return value
        return str(node.value)  # dates, `!!binary`...: keep the text as written


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _dotted(loc: Loc) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path


def _issue_from(error: Any, lines: dict[Loc, _Where]) -> ConfigIssue:
    loc: Loc = tuple(error["loc"])
    where = lines.get(loc)
    line = None
    if where is not None:  # an unknown key is reported at the key, anything else at its value
        line = where.key if error["type"] == "extra_forbidden" else where.value
    return ConfigIssue(_dotted(loc), _message(error, loc), line)


_EXPECTED = {
    "bool_type": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "model_type": "a mapping",
    "dict_type": "a mapping",
}


def _message(error: Any, loc: Loc) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key_message(loc)
    if kind == "enum":
        choices = _enum_at(loc)
        if choices:
            return f"expected one of {', '.join(repr(c) for c in choices)}, got {_describe(given)}"
    if kind == "too_long":  # pydantic words it in items; say what the limit protects
        limit = error["ctx"]["max_length"]
        return f"at most {limit} patterns are allowed, got {len(given)}"
    if kind == "string_too_long":
        limit = error["ctx"]["max_length"]
        return f"a pattern is at most {limit} characters long, got {len(given)}"
    if kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {_describe(given)}"
        if kind == "tuple_type" and isinstance(given, str):
            message += f"; a one-item list is written [{json.dumps(given)}]"
        return message
    return str(error["msg"])


def _unknown_key_message(loc: Loc) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown key '{key}'"
    valid = list(model.model_fields)
    # Lower-casing and `-` -> `_` lets `initContainers` or `pull-request` find their match.
    close = difflib.get_close_matches(key.lower().replace("-", "_"), valid, n=1)
    if close:
        return f"unknown key '{key}', did you mean '{close[0]}'?"
    return f"unknown key '{key}'; valid keys: {', '.join(valid)}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _enum_at(loc: Loc) -> list[str]:
    model = _model_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model and loc else None
    annotation = field.annotation if field else None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    return []


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)
