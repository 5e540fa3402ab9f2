"""Materialising the files an engine may read: a private temporary directory, no escapes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from workers.core.renders import RenderFailed


def safe_relative(path: str) -> str:
    """`path` if it is a plain repository-relative POSIX path, as a git tree names files: no
    leading `/`, no empty, `.` or `..` part, no backslash or NUL. Anything else is refused."""
    parts = path.split("/")
    if not path or "\\" in path or "\x00" in path or any(part in ("", ".", "..") for part in parts):
        raise RenderFailed(f"refused path {path!r}")
    return path


def materialise(files: Mapping[str, bytes], into: Path) -> None:
    """Write every file as a regular file under `into` (created with mode 0700)."""
    for path, data in files.items():
        target = into.joinpath(*safe_relative(path).split("/"))
        directory = target.parent
        if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
            raise RenderFailed(f"refused path {path!r}")
        directory.mkdir(parents=True, exist_ok=True)
        # O_EXCL|O_NOFOLLOW: never write through a link or over a file already written.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            descriptor = os.open(target, flags, 0o600)
        except FileExistsError:
            raise RenderFailed(f"refused path {path!r} (given twice)") from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
