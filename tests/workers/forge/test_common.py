"""Helpers shared by the adapters: commit ordering, guards, the listing cache."""

from __future__ import annotations

import pytest

from workers.forge.base import CommitInfo, FileChange, RepoRef, TreeEntry
from workers.forge.common import (
    Listing,
    ListingCache,
    batched,
    check_body,
    check_changes,
    newest_first,
    refuse_default_branch,
)


def commit(sha: str, *parents: str) -> CommitInfo:
    return CommitInfo(sha, parents, "A", "a@example.com", f"commit {sha}")


def test_newest_first_follows_parents_whatever_the_listed_order() -> None:
    listed = [commit("b", "a"), commit("d", "c"), commit("a", "base"), commit("c", "b")]
    assert [c.sha for c in newest_first(listed)] == ["d", "c", "b", "a"]


def test_newest_first_puts_merged_side_commits_after_the_first_parent_chain() -> None:
    listed = [commit("a", "base"), commit("side", "base"), commit("merge", "a", "side")]
    assert [c.sha for c in newest_first(listed)] == ["merge", "a", "side"]


def test_refuses_the_default_branch() -> None:
    refuse_default_branch("pullpolicy/fix", "main")
    with pytest.raises(ValueError, match="default branch"):
        refuse_default_branch("main", "main")


def test_changes_must_be_non_empty_and_unique() -> None:
    check_changes([FileChange("a", b"x"), FileChange("b", None)])
    with pytest.raises(ValueError):
        check_changes([])
    with pytest.raises(ValueError):
        check_changes([FileChange("a", b"x"), FileChange("a", None)])


def test_body_limit_counts_characters() -> None:
    check_body("é" * 10, 10, "pull request")
    with pytest.raises(ValueError, match="11 characters; the limit is 10"):
        check_body("é" * 11, 10, "pull request")


def test_batched_splits_into_fixed_size_chunks() -> None:
    assert [list(b) for b in batched(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []


def test_listing_cache_keeps_the_most_recent_entries() -> None:
    cache = ListingCache(size=2)
    repo = RepoRef("github", "o/r")
    listings = {sha: Listing({sha: TreeEntry(sha, sha, 1, "100644")}) for sha in "abc"}
    cache.put(repo, "a", listings["a"])
    cache.put(repo, "b", listings["b"])
    assert cache.get(repo, "a") is listings["a"]  # refreshes "a"
    cache.put(repo, "c", listings["c"])
    assert cache.get(repo, "b") is None
    assert cache.get(repo, "a") is listings["a"]
    assert cache.get(RepoRef("github", "o/other"), "a") is None


def test_the_latest_listing_is_the_one_of_that_repository_used_last() -> None:
    cache = ListingCache()
    repo, other = RepoRef("gitlab", "o/r"), RepoRef("gitlab", "o/other")
    listings = {sha: Listing({sha: TreeEntry(sha, sha, 1, "100644")}) for sha in "abc"}
    assert cache.latest(repo) is None
    cache.put(repo, "a", listings["a"])
    cache.put(repo, "b", listings["b"])
    cache.put(other, "c", listings["c"])
    assert cache.latest(repo) == ("b", listings["b"])
    cache.get(repo, "a")  # used again: the latest
    assert cache.latest(repo) == ("a", listings["a"])
    assert cache.latest(other) == ("c", listings["c"])
