"""Renders that differ from run to run (`randAlphaNum` names, generated passwords), made
comparable: values that change between two renders of the same files are masked in both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from workers.core.renders import Rendered

MASK = "<varies between renders>"
Leaf = tuple[int, tuple[Any, ...]]  # (document index, key path)


class Volatile:
    """What varies between two renders of the same chart; masks it in any render."""

    def __init__(self, first: Rendered, second: Rendered) -> None:
        self._leaves: dict[str, set[Leaf]] = {}
        for name in first.keys() & second.keys():
            if first[name] == second[name]:
                continue
            old, new = _load(first[name]), _load(second[name])
            leaves: set[Leaf] = set()
            for index, (a, b) in enumerate(zip(old, new, strict=False)):
                leaves.update((index, path) for path in _differing(a, b, ()))
            self._leaves[name] = leaves

    def __bool__(self) -> bool:
        return bool(self._leaves)

    def mask(self, rendered: Mapping[str, str]) -> dict[str, str]:
        masked = dict(rendered)
        for name, leaves in self._leaves.items():
            if name not in rendered:
                continue
            documents = _load(rendered[name])
            for index, path in leaves:
                if index < len(documents):
                    documents[index] = _masked(documents[index], path)
            masked[name] = yaml.dump_all(documents, Dumper=yaml.CSafeDumper, sort_keys=False)
        return masked


def _load(text: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        return []


def _differing(a: Any, b: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return [p for key in a for p in _differing(a[key], b[key], (*path, key))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            p
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for p in _differing(x, y, (*path, i))
        ]
    return [] if a == b else [path]


def _masked(document: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return MASK
    head, rest = path[0], path[1:]
    if isinstance(document, dict) and head in document:
        return {**document, head: _masked(document[head], rest)}
    if isinstance(document, list) and isinstance(head, int) and head < len(document):
        return [*document[:head], _masked(document[head], rest), *document[head + 1 :]]
    return document
