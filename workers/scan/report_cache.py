"""Results cached by content: an unchanged file is neither fetched nor parsed again, an
unchanged chart or kustomization render is not made again.

A manifest's report depends on the file's content (its blob sha), its path (fingerprints,
globs) and on what the scan was asked (config, declined fingerprints, fix or check, tool
version): all of these are in the key. A chart's result (findings and verified edits) depends
on every file under its root, the same scan digest and Helm's engine version; a kustomize
render on the exact files it is given, its directory and kubectl's version.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TypeVar

from workers import __version__
from workers.config.model import Config
from workers.core.charts import ChartResult
from workers.core.findings import FileReport

Key = tuple[str, str, str]  # (scan digest, path, blob sha)
RenderKey = tuple[str, str, str]  # (engine version, directory, digest of the files)
K = TypeVar("K")
V = TypeVar("V")
MAX_RENDER_BYTES = 64 * 1024 * 1024  # the renders kept, by the size of their text


def scan_digest(config: Config, declined: Iterable[str], *, fix: bool) -> str:
    parts = [__version__, config.model_dump_json(), ",".join(sorted(declined)), str(fix)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def content_digest(items: Iterable[tuple[str, str]]) -> str:
    """One digest of (path, content id) pairs, whatever their order."""
    digest = hashlib.sha256()
    for path, content in sorted(items):
        digest.update(f"{path}\0{content}\0".encode())
    return digest.hexdigest()


def files_digest(files: Mapping[str, bytes]) -> str:
    return content_digest((path, hashlib.sha256(data).hexdigest()) for path, data in files.items())


class ReportCache:
    """Bounded LRUs kept by a worker process between scans: FileReports per blob, chart
    results per chart content, kustomize renders per input (bounded by their size too)."""

    def __init__(self, max_entries: int = 20_000, max_render_bytes: int = MAX_RENDER_BYTES) -> None:
        self._entries: OrderedDict[Key, FileReport] = OrderedDict()
        self._charts: OrderedDict[Key, ChartResult] = OrderedDict()
        self._renders: OrderedDict[RenderKey, dict[str, str]] = OrderedDict()
        self._render_bytes = 0
        self._max_entries = max_entries
        self._max_render_bytes = max_render_bytes

    def get(self, key: Key) -> FileReport | None:
        return _get(self._entries, key)

    def put(self, key: Key, report: FileReport) -> None:
        _put(self._entries, key, report, self._max_entries)

    def get_chart(self, key: Key) -> ChartResult | None:
        return _get(self._charts, key)

    def put_chart(self, key: Key, result: ChartResult) -> None:
        _put(self._charts, key, result, self._max_entries)

    def get_render(self, key: RenderKey) -> dict[str, str] | None:
        return _get(self._renders, key)

    def put_render(self, key: RenderKey, rendered: dict[str, str]) -> None:
        size = _size(rendered)
        if size > self._max_render_bytes:
            return
        if key in self._renders:
            self._render_bytes -= _size(self._renders.pop(key))
        self._renders[key] = rendered
        self._render_bytes += size
        while self._render_bytes > self._max_render_bytes:
            _, dropped = self._renders.popitem(last=False)
            self._render_bytes -= _size(dropped)

    def __len__(self) -> int:
        return len(self._entries)


def _size(rendered: Mapping[str, str]) -> int:
    return sum(len(name) + len(text) for name, text in rendered.items())


def _get(entries: OrderedDict[K, V], key: K) -> V | None:
    value = entries.get(key)
    if value is not None:
        entries.move_to_end(key)
    return value


def _put(entries: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > limit:
        entries.popitem(last=False)
