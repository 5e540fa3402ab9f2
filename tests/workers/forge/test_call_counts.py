"""What a scan and a fix cost in API calls, on a repository of 1,000 files with ten candidates.

Counts come from the adapter (`api_calls`) and are checked against the fake's request log.
"""

from __future__ import annotations

import math

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge.base import FileChange

PAGE = 100  # GitLab's largest page, the adapter's default
CANDIDATES = [f"deploy/team{i}/app/deployment.yaml" for i in range(10)]
OTHERS = [f"src/pkg{i % 9}/sub{i % 4}/module{i}.py" for i in range(990)]
FILES: dict[str, bytes | str] = {
    **{path: f"print({i})\n" for i, path in enumerate(OTHERS)},
    **dict.fromkeys(CANDIDATES, "kind: Deployment\n"),
}
# deploy, deploy/teamN, deploy/teamN/app, src, src/pkgN, src/pkgN/subM
DIRECTORIES = 1 + 10 + 10 + 1 + 9 + 9 * 4
FIXED = b"kind: Deployment\nimagePullPolicy: Always\n"


@pytest.fixture
def big(subject: Subject) -> Subject:
    repo = subject.seed(FILES)
    subject.forge.default_branch(repo)  # mints the GitHub installation token
    subject.reset_counts()
    return subject


def requests_since_reset(subject: Subject) -> list[tuple[str, str]]:
    log = list(subject.fake.requests)
    assert subject.api_calls() == len(log)
    return log


def scan(subject: Subject) -> tuple[str, list[str]]:
    repo = subject.ref()
    head = subject.fake.branch_head(REPO, "main") or ""
    entries = subject.forge.list_files(repo, head)
    candidates = [e.path for e in entries if e.path.endswith(".yaml")]
    for path in candidates:
        assert subject.forge.read_file(repo, path, head) == b"kind: Deployment\n"
    return head, candidates


def test_a_scan_then_a_fix(big: Subject) -> None:
    """One test for both so the 1,000-file repository is seeded once per forge."""
    assert len(FILES) == 1000
    repo = big.ref()
    head, candidates = scan(big)
    assert sorted(candidates) == sorted(CANDIDATES)
    scanned = requests_since_reset(big)
    big.reset_counts()
    changes = [FileChange(path, FIXED) for path in candidates]
    first = big.forge.commit_files(repo, "pullpolicy/fix", head, changes, "fix", expected_head=None)
    created = [method for method, _ in requests_since_reset(big)]
    big.reset_counts()
    big.forge.commit_files(repo, "pullpolicy/fix", head, changes, "again", expected_head=first)
    moved = [method for method, _ in requests_since_reset(big)]
    assert big.fake.files(REPO, "pullpolicy/fix")[CANDIDATES[0]] == FIXED

    if big.kind == "github":
        # scan: one recursive tree, then a blob per candidate
        assert [m for m, p in scanned] == ["GET"] * 11
        assert sum("/git/trees/" in p for m, p in scanned) == 1
        assert sum("/git/blobs/" in p for m, p in scanned) == 10
        # fix: a tree carrying the new texts, a commit, then create or move the ref in one
        # compare-and-swap (GraphQL updateRefs): no request per changed file
        assert created == ["POST", "POST", "POST"]
        assert moved == ["POST", "POST", "POST"]
    else:
        # scan: the tree listing in pages of 100 entries, then a raw file per candidate
        listing_pages = math.ceil((len(FILES) + DIRECTORIES) / PAGE)
        assert sum(p.endswith("/repository/tree") for m, p in scanned) == listing_pages
        assert sum(p.endswith("/raw") for m, p in scanned) == 10
        assert len(scanned) == listing_pages + 10
        # fix: one commit with ten actions / a branch-head check and the forced commit
        assert created == ["POST"]
        assert moved == ["GET", "POST"]


@pytest.mark.parametrize("subject", ["github"], indirect=True)  # GitLab pages, never truncates
def test_a_truncated_tree_is_walked_one_subtree_at_a_time(big: Subject) -> None:
    big.fake.truncate_trees = True
    head = big.fake.branch_head(REPO, "main") or ""
    entries = big.forge.list_files(big.ref(), head)
    assert sorted(e.path for e in entries) == sorted(FILES)
    trees = [p for m, p in requests_since_reset(big) if "/git/trees/" in p]
    # the truncated recursive answer, then every tree (root included) once, non-recursively
    assert len(trees) == 1 + 1 + DIRECTORIES
