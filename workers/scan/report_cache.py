"""Results cached per blob: an unchanged file is neither fetched nor parsed again.

A report depends on the file's content (its blob sha), its path (fingerprints, globs) and on
what the scan was asked (config, declined fingerprints, fix or check, tool version): all of
these are in the key.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

from workers import __version__
from workers.config.model import Config
from workers.core.findings import FileReport

Key = tuple[str, str, str]  # (scan digest, path, blob sha)


def scan_digest(config: Config, declined: Iterable[str], *, fix: bool) -> str:
    parts = [__version__, config.model_dump_json(), ",".join(sorted(declined)), str(fix)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class ReportCache:
    """A bounded LRU of FileReports, kept by a worker process between scans."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._entries: OrderedDict[Key, FileReport] = OrderedDict()
        self._max_entries = max_entries

    def get(self, key: Key) -> FileReport | None:
        report = self._entries.get(key)
        if report is not None:
            self._entries.move_to_end(key)
        return report

    def put(self, key: Key, report: FileReport) -> None:
        self._entries[key] = report
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
