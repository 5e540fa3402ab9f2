"""What a `read` function may refuse, shared by the tree scan and the renders it drives."""

from __future__ import annotations

MAX_FILE_BYTES = 5 * 1024 * 1024  # larger manifests are skipped, locally and on forges alike


class ReadError(Exception):
    """Raised by a `read` function for a file it refuses to read (symlink, too large, ...)."""

    @classmethod
    def too_large(cls, limit: int) -> ReadError:
        return cls(f"larger than {limit // (1024 * 1024)} MiB")
