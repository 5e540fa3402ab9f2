"""Kustomizations in a tree: where they are and which files each one reads (its closure).

Pure: the caller lists the repository's paths and hands in `read`. The closure is computed from
the kustomization files themselves, following bases recursively, so an engine is given only
the files a render may read.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# What kustomize fetches instead of reading: URLs, scp-like git addresses, `host.tld/owner/repo`.
REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git@|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|org|io|net)/)"
)
# Fields holding a path or a list of paths to a file or a directory (a base, a component).
PATH_FIELDS = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
)


class BadKustomization(Exception):
    """A kustomization file that cannot be read as a mapping; the message says why."""


@dataclass(frozen=True)
class Closure:
    """What a kustomization reads: its kustomization files (in build order, bases first), every
    other local file, the remote bases it names and the local paths it names that are absent."""

    root: str
    kustomizations: tuple[str, ...]
    files: tuple[str, ...]
    remote: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def all_files(self) -> tuple[str, ...]:
        return tuple(sorted({*self.kustomizations, *self.files}))


def kustomization_file(directory: str, paths: frozenset[str]) -> str | None:
    for name in KUSTOMIZATION_FILES:
        candidate = join(directory, name)
        if candidate in paths:
            return candidate
    return None


def kustomization_dirs(paths: Iterable[str]) -> list[str]:
    """Directories (repository-relative, "" for the root) holding a kustomization file."""
    return sorted(
        {posixpath.dirname(p) for p in paths if posixpath.basename(p) in KUSTOMIZATION_FILES}
    )


def is_remote(entry: str) -> bool:
    return REMOTE.match(entry) is not None


def load_kustomization(data: bytes) -> dict[str, Any]:
    try:
        loaded = yaml.load(data, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as error:
        raise BadKustomization(f"not valid YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise BadKustomization("not a mapping")
    return loaded


def closure(root: str, paths: frozenset[str], read: Callable[[str], bytes]) -> Closure:
    """Every file the kustomization in `root` reads, following its bases recursively.

    Raises BadKustomization for a kustomization file that is not a mapping."""
    walk = _Walk(paths, read)
    walk.directory(root)
    return Closure(
        root,
        tuple(walk.kustomizations),
        tuple(sorted(walk.files)),
        tuple(walk.remote),
        tuple(sorted(walk.missing)),
    )


@dataclass
class _Walk:
    paths: frozenset[str]
    read: Callable[[str], bytes]
    kustomizations: list[str] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    remote: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    def directory(self, directory: str) -> None:
        if directory in self.seen:
            return
        self.seen.add(directory)
        path = kustomization_file(directory, self.paths)
        if path is None:
            self.missing.add(directory or ".")
            return
        content = load_kustomization(self.read(path))
        for entry in _path_entries(content):
            self.entry(directory, entry)
        for entry in _file_entries(content):
            self.file(directory, entry)
        self.kustomizations.append(path)  # after its bases: build order

    def entry(self, directory: str, entry: str) -> None:
        """A resource-like entry: a file, a directory (a base) or a remote base."""
        target = resolve(directory, entry)
        if target is not None and target in self.paths:
            self.files.add(target)
        elif target is not None and self._is_directory(target):
            self.directory(target)
        elif is_remote(entry):
            self.remote.append(entry)
        elif "\n" not in entry:  # an inline transformer configuration is not a path
            self.missing.add(target or entry)

    def file(self, directory: str, entry: str) -> None:
        target = resolve(directory, entry)
        if target is not None and target in self.paths:
            self.files.add(target)
        else:
            self.missing.add(target or entry)

    def _is_directory(self, target: str) -> bool:
        prefix = target + "/" if target else ""
        return any(p.startswith(prefix) for p in self.paths)


def resolve(directory: str, entry: str) -> str | None:
    """`entry` relative to `directory`, normalised; None when it leaves the repository."""
    if entry.startswith("/"):
        return None
    joined = posixpath.normpath(join(directory, entry))
    if joined == ".":
        return ""
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def join(directory: str, name: str) -> str:
    return posixpath.join(directory, name) if directory else name


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))


def _mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _path_entries(content: Mapping[str, Any]) -> Iterator[str]:
    for name in PATH_FIELDS:
        yield from _strings(content.get(name))


def _file_entries(content: Mapping[str, Any]) -> Iterator[str]:
    """Files (never directories) a kustomization reads: patches, generator sources, schemas."""
    for entry in _strings(content.get("patchesStrategicMerge")):
        if "\n" not in entry:  # otherwise an inline patch
            yield entry
    for name in ("patches", "patchesJson6902", "replacements"):
        for item in _mappings(content.get(name)):
            yield from _strings(item.get("path"))
    for name in ("configMapGenerator", "secretGenerator"):
        for item in _mappings(content.get(name)):
            for source in _strings(item.get("files")):
                yield source.split("=", 1)[1] if "=" in source else source
            yield from _strings(item.get("envs"))
            yield from _strings(item.get("env"))
    openapi = content.get("openapi")
    if isinstance(openapi, dict):
        yield from _strings(openapi.get("path"))
