"""Materialising the files an engine may read: a private temporary directory, no escapes."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path

from workers.core.renders import RenderFailed


def safe_relative(path: str) -> str:
    """`path` if it is a plain repository-relative POSIX path that stays inside its root."""
    normal = posixpath.normpath(path)
    parts = normal.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or normal in (".", "..")
        or ".." in parts
    ):
        raise RenderFailed(f"refused to materialise path {path!r}")
    return normal


def materialise(files: Mapping[str, bytes], into: Path) -> None:
    """Write every file as a regular file under `into` (created with mode 0700)."""
    for path, data in files.items():
        target = into.joinpath(*safe_relative(path).split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL|O_NOFOLLOW: never write through a link or over a file already written.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        descriptor = os.open(target, flags, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
