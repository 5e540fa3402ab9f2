"""What a scan and a fix cost in API calls, on a repository of 1,000 files with ten candidates.

Counts come from the adapter (`api_calls`) and are checked against the fake's request log.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge.base import ChangeRequestState, FileChange
from workers.jobs import ScanJob
from workers.scan import run as scan_run
from workers.scan.report_cache import ReportCache

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


def test_reading_the_candidates_is_one_graphql_query(big: Subject) -> None:
    repo = big.ref()
    head = big.fake.branch_head(REPO, "main") or ""
    big.forge.list_files(repo, head)
    big.reset_counts()
    contents = big.forge.read_files(repo, CANDIDATES, head)
    assert contents == dict.fromkeys(CANDIDATES, b"kind: Deployment\n")
    log = requests_since_reset(big)
    if big.kind == "github":
        assert log == [("POST", "/api/graphql")]
    else:  # project { repository { blobs(ref:, paths:) } }
        assert log == [("POST", "/gitlab/api/graphql")]


def test_what_graphql_cannot_give_exactly_comes_by_rest(big: Subject) -> None:
    """A binary file and one that is not UTF-8: GraphQL's text would alter them."""
    repo = big.ref()
    odd = {"deploy/binary.yaml": b"kind: Pod\n\0\n", "deploy/latin1.yaml": b"name: caf\xe9\n"}
    head = big.fake.push_commit(REPO, "main", dict(odd), "odd files")
    big.forge.list_files(repo, head)
    big.reset_counts()
    contents = big.forge.read_files(repo, [*CANDIDATES[:2], *odd], head)
    assert contents == {**dict.fromkeys(CANDIDATES[:2], b"kind: Deployment\n"), **odd}
    log = requests_since_reset(big)
    assert len(log) == 3 and sum("graphql" in path for _, path in log) == 1


def test_an_unchanged_head_and_pr_list_are_free_on_github(big: Subject) -> None:
    """Once the default branch was read (on GitHub the fixture's first read was the GraphQL
    overview, so by REST once more), asking again (a no-op rescan) is answered 304 on GitHub,
    which GitHub does not count; the PR lookup likewise the second time."""
    repo = big.ref()
    big.forge.default_branch(repo)
    big.reset_counts()
    big.forge.default_branch(repo)
    big.forge.find_change_requests(repo, "pullpolicy/fix", [ChangeRequestState.OPEN])
    big.forge.find_change_requests(repo, "pullpolicy/fix", [ChangeRequestState.OPEN])
    assert len(requests_since_reset(big)) == 3
    assert big.fake.not_modified == (2 if big.kind == "github" else 0)


def test_a_new_head_with_a_known_tree_is_not_listed_again(big: Subject) -> None:
    repo = big.ref()
    _, head = big.forge.default_branch(repo)
    big.forge.list_files(repo, head)
    same = {CANDIDATES[0]: "kind: Deployment\n"}  # a commit that changes nothing
    big.fake.push_commit(REPO, "main", same, "empty")
    big.reset_counts()
    _, new_head = big.forge.default_branch(repo)
    assert new_head != head
    assert len(big.forge.list_files(repo, new_head)) == len(FILES)
    log = requests_since_reset(big)
    if big.kind == "github":  # the branch answer names the tree: nothing but that request
        assert len(log) == 1
    else:  # GitLab: the overview, then a compare with the kept listing that names no change
        assert [(m, p.rsplit("/", 1)[-1]) for m, p in log] == [
            ("POST", "graphql"),
            ("GET", "compare"),
        ]


POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\n"
    "spec:\n  containers: [{{name: a, image: 'a:{i}'}}]\n"
)
# What a scan costs, step by step, on a worker whose adapter and cache start empty: the figures
# bench/bench_api_calls.py prints. (calls, of which GitHub answered 304 and did not count)
SCAN_COSTS = {
    "github": {"first": (6, 0), "update": (7, 0), "no-op": (2, 0), "no-op again": (2, 2)},
    "gitlab": {"first": (15, 0), "update": (9, 0), "no-op": (1, 0), "no-op again": (1, 0)},
}
TREE_PAGES = math.ceil((len(FILES) + DIRECTORIES) / PAGE)  # GitLab lists 100 entries a page
# Where a first scan's requests go (GitHub: the installation token, the GraphQL overview with
# the pull requests from the bot's branch, the recursive tree, the candidates in one GraphQL
# query, the branch and its commit in one GraphQL document, the pull request).
FIRST_SCAN = {
    "github": [
        ("POST", "/access_tokens"),
        ("POST", "/api/graphql"),
        ("GET", "/git/trees/"),
        ("POST", "/api/graphql"),
        ("POST", "/api/graphql"),
        ("POST", "/pulls"),
    ],
    "gitlab": [
        ("POST", "/gitlab/api/graphql"),
        *[("GET", "/repository/tree")] * TREE_PAGES,
        ("POST", "/gitlab/api/graphql"),
        ("POST", "/repository/commits"),
        ("POST", "/merge_requests"),
    ],
}


def test_what_each_scan_step_costs(subject: Subject) -> None:
    """A regression in any forge operation a scan uses changes these numbers."""
    files: dict[str, bytes | str] = {
        **{path: f"print({i})\n" for i, path in enumerate(OTHERS)},
        **{path: POD.format(i=i) for i, path in enumerate(CANDIDATES)},
    }
    subject.seed(files)
    job = ScanJob(forge=subject.kind, repo=REPO, reason="push")
    job = replace(job, installation_id=subject.ref().installation_id)
    cache = ReportCache()
    costs = {}
    named = None  # the head the job names: a push's; an installation's first scan names none
    for step in SCAN_COSTS[subject.kind]:
        if step == "update":
            named = subject.fake.push_commit(
                REPO, "main", {CANDIDATES[3]: POD.format(i=33)}, "bump"
            )
        subject.fake.reset_requests()
        outcome = scan_run.run(subject.forge, replace(job, head_sha=named), cache=cache)
        assert outcome.api_calls == len(subject.fake.requests)
        costs[step] = (outcome.api_calls, subject.fake.not_modified)
        if step == "first":
            sent = list(subject.fake.requests)
            expected = FIRST_SCAN[subject.kind]
            assert len(sent) == len(expected)
            for (method, path), (want_method, want_path) in zip(sent, expected, strict=True):
                assert method == want_method and want_path in path, (sent, expected)
    assert costs == SCAN_COSTS[subject.kind]
    head = subject.fake.branch_head(REPO, "pullpolicy/always-pull-images") or ""
    assert "Generated-by: pullpolicy" in subject.fake.commit_message(REPO, head)
