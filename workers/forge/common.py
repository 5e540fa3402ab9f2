"""Small pieces both adapters share: the tree-listing cache, commit ordering, guards."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from workers.forge.base import (
    BranchInfo,
    BranchState,
    CommitInfo,
    FileChange,
    NotFound,
    RepoRef,
    TreeEntry,
)

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Listing:
    """Every blob of one commit, by path; `root_tree` is the tree sha where the forge has one."""

    entries: dict[str, TreeEntry]
    root_tree: str | None = None


class ListingCache:
    """The last few listings, so reading candidates and writing a fix need no second walk.

    Keyed by commit sha, so an entry can never go stale.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._listings: OrderedDict[tuple[str, str], Listing] = OrderedDict()

    def get(self, repo: RepoRef, sha: str) -> Listing | None:
        key = (repo.full_name, sha)
        listing = self._listings.get(key)
        if listing is not None:
            self._listings.move_to_end(key)
        return listing

    def alias(self, repo: RepoRef, sha: str, known: str) -> None:
        """Let `sha` find the listing kept under `known` (a commit with the same tree)."""
        listing = self.get(repo, known)
        if listing is not None:
            self.put(repo, sha, listing)

    def latest(self, repo: RepoRef) -> tuple[str, Listing] | None:
        """The listing of `repo` used last and its key, if any is kept (a base to derive a
        newer commit's listing from)."""
        for (full_name, sha), listing in reversed(self._listings.items()):
            if full_name == repo.full_name:
                return sha, listing
        return None

    def put(self, repo: RepoRef, sha: str, listing: Listing) -> None:
        self._listings[(repo.full_name, sha)] = listing
        self._listings.move_to_end((repo.full_name, sha))
        while len(self._listings) > self._size:
            self._listings.popitem(last=False)


class ReadsFiles(Protocol):
    def read_file(self, repo: RepoRef, path: str, sha: str) -> bytes: ...


def read_each(forge: ReadsFiles, repo: RepoRef, paths: Sequence[str], sha: str) -> dict[str, bytes]:
    """One request per file: the fallback where no batched read exists or applies."""
    contents: dict[str, bytes] = {}
    for path in paths:
        with suppress(NotFound):
            contents[path] = forge.read_file(repo, path, sha)
    return contents


class ReadsBranches(Protocol):
    def branch(self, repo: RepoRef, branch: str) -> BranchInfo | None: ...

    def branch_commits(self, repo: RepoRef, head: str, base_sha: str) -> list[CommitInfo]: ...


def branch_state_by_rest(
    forge: ReadsBranches, repo: RepoRef, branch: str, base_sha: str
) -> BranchState | None:
    """The branch (head, protection), then its commits since `base_sha`: two requests. The
    comparison names the head read, not the branch: a tag of the same name, or a push between
    the two requests, would otherwise compare something else."""
    info = forge.branch(repo, branch)
    if info is None:
        return None
    try:
        commits = forge.branch_commits(repo, info.head, base_sha)
    except NotFound:  # no common history with the base (or the branch went meanwhile)
        return BranchState(info.head, info.protected, since_base=None)
    return BranchState(info.head, info.protected, tuple(commits))


def newest_first(commits: Sequence[CommitInfo]) -> list[CommitInfo]:
    """Order commits from the branch tip backwards along first parents, whatever order the
    forge listed them in; commits off the first-parent chain (merged side branches) follow."""
    by_sha = {commit.sha: commit for commit in commits}
    parents = {parent for commit in commits for parent in commit.parents}
    tips = [commit for commit in commits if commit.sha not in parents]
    ordered: list[CommitInfo] = []
    seen: set[str] = set()
    for tip in tips:
        current: CommitInfo | None = tip
        while current is not None and current.sha not in seen:
            ordered.append(current)
            seen.add(current.sha)
            current = by_sha.get(current.parents[0]) if current.parents else None
    ordered.extend(commit for commit in commits if commit.sha not in seen)
    return ordered


def refuse_default_branch(branch: str, default_branch: str) -> None:
    if branch == default_branch:
        raise ValueError(f"refusing to write the default branch {branch!r}")


def check_changes(changes: Sequence[FileChange]) -> None:
    if not changes:
        raise ValueError("a commit needs at least one change")
    paths = [change.path for change in changes]
    if len(set(paths)) != len(paths):
        raise ValueError("each path may change only once per commit")


def check_body(body: str, limit: int, noun: str) -> None:
    if len(body) > limit:
        raise ValueError(f"{noun} body has {len(body)} characters; the limit is {limit}")


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
