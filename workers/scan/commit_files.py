"""A scan's or a review's reads at one commit: what `prefetch` names is fetched together
(`Forge.read_files`: one GraphQL query per hundred files), anything else one by one. A file the
tree lists above MAX_FILE_BYTES is never downloaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workers.core.tree import MAX_FILE_BYTES, ReadError
from workers.forge.base import Forge, RepoRef, TreeEntry


class CommitFiles:
    """Reads at `sha`. A read file is dropped once read (manifests are read once) unless it was
    named by `keep`, or `keep_all` holds: renders, and a review that needs each changed file's
    text beside its fix, read some files again."""

    def __init__(
        self,
        forge: Forge,
        repo: RepoRef,
        sha: str,
        entries: Mapping[str, TreeEntry],
        *,
        keep_all: bool = False,
    ) -> None:
        self._forge, self._repo, self._sha = forge, repo, sha
        self.entries = entries  # the commit's tree as listed (empty when it was not)
        self._keep_all = keep_all
        self._fetched: dict[str, bytes] = {}
        self._kept: set[str] = set()

    def keep(self, paths: Sequence[str]) -> None:
        self._kept.update(paths)

    def prefetch(self, paths: Sequence[str]) -> None:
        wanted = [
            path for path in dict.fromkeys(paths)
            if path not in self._fetched and not self._too_large(path)
        ]  # fmt: skip
        if wanted:
            self._fetched.update(self._forge.read_files(self._repo, wanted, self._sha))

    def read(self, path: str) -> bytes:
        if self._too_large(path):
            raise ReadError.too_large(MAX_FILE_BYTES)
        kept = self._keep_all or path in self._kept
        data = self._fetched.get(path) if kept else self._fetched.pop(path, None)
        if data is None:
            data = self._forge.read_file(self._repo, path, self._sha)
            if kept:
                self._fetched[path] = data
        if len(data) > MAX_FILE_BYTES:
            raise ReadError.too_large(MAX_FILE_BYTES)
        return data

    def _too_large(self, path: str) -> bool:
        entry = self.entries.get(path)
        return entry is not None and entry.size is not None and entry.size > MAX_FILE_BYTES
