"""The 5 MiB file cap on forge reads (workers/scan/commit_files.py `CommitFiles`): a file the
listing says is too large is never downloaded, batched or not; one that turns out too large after
download is refused too."""

from __future__ import annotations

import pytest

from workers.core.tree import MAX_FILE_BYTES, ReadError
from workers.forge.base import RepoRef, TreeEntry
from workers.scan.commit_files import CommitFiles

REPO = RepoRef("github", "acme/deploys", 1)
SHA = "0" * 40


class CountingForge:
    """Only `read_file` and `read_files`: what the reads may call, and what they read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads: list[str] = []

    def read_file(self, repo: RepoRef, path: str, sha: str) -> bytes:
        self.reads.append(path)
        return self.data

    def read_files(self, repo: RepoRef, paths: list[str], sha: str) -> dict[str, bytes]:
        self.reads.extend(paths)
        return dict.fromkeys(paths, self.data)


def _read(data: bytes, listed_size: int | None) -> tuple[CountingForge, bytes | ReadError]:
    forge = CountingForge(data)
    entries = {"big.yaml": TreeEntry("big.yaml", "b" * 40, listed_size, "100644")}
    files = CommitFiles(forge, REPO, SHA, entries)  # type: ignore[arg-type]
    try:
        files.prefetch(["big.yaml"])  # the batched read the scan starts with
        return forge, files.read("big.yaml")
    except ReadError as error:
        return forge, error


def test_a_file_listed_over_the_cap_is_never_downloaded() -> None:
    forge, result = _read(b"kind: Pod\n", MAX_FILE_BYTES + 1)
    assert isinstance(result, ReadError)
    assert str(result) == "larger than 5 MiB"
    assert forge.reads == []


@pytest.mark.parametrize("listed_size", [None, 10], ids=["size unknown", "size understated"])
def test_a_file_over_the_cap_after_download_is_refused(listed_size: int | None) -> None:
    forge, result = _read(b"x" * (MAX_FILE_BYTES + 1), listed_size)
    assert isinstance(result, ReadError)
    assert str(result) == "larger than 5 MiB"
    assert forge.reads == ["big.yaml"]


def test_a_file_at_the_cap_is_read() -> None:
    data = b"x" * MAX_FILE_BYTES
    forge, result = _read(data, MAX_FILE_BYTES)
    assert result == data
    assert forge.reads == ["big.yaml"]
