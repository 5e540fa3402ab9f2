"""A local directory as the core sees it: relative POSIX paths and a safe `read`.

Symbolic links are never followed (a link could point anywhere on the machine), files over
the size cap are refused, and writes are atomic and keep the file's mode.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from workers.core.tree import MAX_FILE_BYTES, ReadError

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__"})


class LocalTree:
    """Files under `root`, addressed by paths relative to it."""

    def __init__(self, root: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._real_dirs: set[Path] = set()  # directories already checked not to be links

    def paths(self) -> Iterator[str]:
        for directory, dirs, files in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            relative = Path(directory).relative_to(self.root)
            for name in sorted(files):
                yield (relative / name).as_posix()

    def read(self, path: str) -> bytes:
        target = self._resolve(path)
        try:
            info = target.lstat()
        except OSError as error:
            raise ReadError(f"cannot read: {error.strerror}") from None
        if stat.S_ISLNK(info.st_mode):
            raise ReadError("symbolic link: not followed")
        if not stat.S_ISREG(info.st_mode):
            raise ReadError("not a regular file")
        if info.st_size > self.max_bytes:
            raise ReadError.too_large(self.max_bytes)
        # O_NOFOLLOW: a file swapped for a link after the check is still not followed.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(target, flags)
        except OSError as error:
            raise ReadError(f"cannot read: {error.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise ReadError.too_large(self.max_bytes)
        return data

    def write(self, path: str, data: bytes) -> None:
        """Replace the file atomically (temp file + rename), keeping its permission bits."""
        target = self._resolve(path)
        mode = stat.S_IMODE(target.lstat().st_mode)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, mode)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _resolve(self, path: str) -> Path:
        relative = Path(path)
        if relative.is_absolute() or ".." in relative.parts:
            raise ReadError("path escapes the scanned tree")
        # Parent directories must not be links either: they could lead out of the tree.
        current = self.root
        for part in relative.parts[:-1]:
            current = current / part
            if current in self._real_dirs:
                continue
            if current.is_symlink():
                raise ReadError("inside a symbolically linked directory: not followed")
            self._real_dirs.add(current)
        return self.root / relative
