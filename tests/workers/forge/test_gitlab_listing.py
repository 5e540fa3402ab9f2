"""A GitLab commit's listing derived from a kept one (a compare and a blob-id query) instead of
the tree's pages, and the full listing wherever the derived one could be wrong."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge import gitlab_listing
from workers.forge.base import ForgeError, RepoRef, TreeEntry
from workers.forge.gitlab_api import GitLabApi

pytestmark = pytest.mark.parametrize("subject", ["gitlab"], indirect=True)

PER_PAGE = 5  # small pages: twenty files are a listing of several pages
FILES: dict[str, bytes | str] = {
    **{f"src/mod{i % 3}/file{i}.py": f"print({i})\n" for i in range(16)},
    "k8s/app/deployment.yaml": "kind: Deployment\n",
    "k8s/app/service.yaml": "kind: Service\n",
    "bin/run.sh": "#!/bin/sh\n",
    "README.md": "# app\n",
}
GIT = ["git", "-c", "user.name=Human", "-c", "user.email=human@example.com"]


def sent(subject: Subject) -> list[str]:
    log = list(subject.fake.requests)
    assert subject.api_calls() == len(log)
    return [f"{method} {path.split('?')[0].rsplit('/', 1)[-1]}" for method, path in log]


def truth(subject: Subject, repo: RepoRef, sha: str) -> list[TreeEntry]:
    """The listing of `sha` by the tree's pages, from an adapter that kept nothing."""
    return subject.make(per_page=100).list_files(repo, sha)


def pages(subject: Subject, repo: RepoRef, sha: str) -> int:
    subject.reset_counts()
    subject.make(per_page=PER_PAGE).list_files(repo, sha)
    return len(subject.fake.requests)


def listed_once(subject: Subject, files: dict[str, bytes | str] = FILES) -> tuple[Any, str]:
    """An adapter with small pages that listed main's head; the head."""
    repo = subject.seed(files)
    forge = subject.make(per_page=PER_PAGE)
    head = subject.fake.branch_head(REPO, "main") or ""
    forge.list_files(repo, head)
    return forge, head


def push_with_git(
    subject: Subject, tmp_path: Path, edit: Callable[[Callable[..., Any]], None]
) -> str:
    clone = tmp_path / "clone"
    subprocess.run([*GIT, "clone", "-q", subject.fake.git_url(REPO), str(clone)], check=True)

    def git(*args: str) -> Any:
        return subprocess.run([*GIT, "-C", str(clone), *args], check=True, capture_output=True)

    edit(git)
    git("commit", "-qm", "people's work")
    git("push", "-q", "origin", "HEAD:main")
    return subject.fake.branch_head(REPO, "main") or ""


def test_a_new_heads_listing_is_a_compare_and_one_blob_query(
    subject: Subject, tmp_path: Path
) -> None:
    """Modified, added, deleted, renamed, executable, a symbolic link and a submodule."""
    forge, head = listed_once(subject)
    repo = subject.ref()

    def edit(git: Callable[..., Any]) -> None:
        root = tmp_path / "clone"
        (root / "k8s/app/deployment.yaml").write_text("kind: Deployment\nspec: {}\n")
        (root / "k8s/new/pod.yaml").parent.mkdir(parents=True)
        (root / "k8s/new/pod.yaml").write_text("kind: Pod\n")
        (root / "k8s/link.yaml").symlink_to("app/service.yaml")
        (root / "bin/run.sh").chmod(0o755)
        git("rm", "-q", "src/mod0/file0.py")
        (root / "lib").mkdir()
        git("mv", "src/mod1/file1.py", "lib/file1.py")
        git("add", "-A")
        git("update-index", "--add", "--cacheinfo", f"160000,{head},vendor/lib")

    new = push_with_git(subject, tmp_path, edit)
    subject.reset_counts()
    derived = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare", "POST graphql"]
    assert derived == truth(subject, repo, new)
    modes = {entry.path: entry.mode for entry in derived}
    assert modes["bin/run.sh"] == "100755" and modes["k8s/link.yaml"] == "120000"
    assert "vendor/lib" not in modes and "src/mod0/file0.py" not in modes
    pushed = subprocess.run(
        ["git", "-C", str(tmp_path / "clone"), "ls-tree", new, "vendor/lib"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert pushed.stdout.startswith("160000 commit")  # the submodule is there, not listed
    assert "lib/file1.py" in modes and "src/mod1/file1.py" not in modes


def test_a_branch_off_an_older_commit_is_derived_from_the_trees_not_the_history(
    subject: Subject,
) -> None:
    """A merge request's head, based before main's latest commit: the compare is straight
    (tree against tree), so what main gained since is not taken for the branch's."""
    repo = subject.seed(FILES)
    base = subject.fake.branch_head(REPO, "main") or ""
    main = subject.fake.push_commit(REPO, "main", {"k8s/main-only.yaml": "kind: Pod\n"}, "main")
    side = subject.fake.push_commit(
        REPO, "side", {"k8s/side.yaml": "kind: Job\n", "README.md": None}, "side", parent=base
    )
    forge = subject.make(per_page=PER_PAGE)
    forge.list_files(repo, main)
    subject.reset_counts()
    listed = forge.list_files(repo, side)
    assert sent(subject)[:1] == ["GET compare"]
    assert listed == truth(subject, repo, side)


def test_a_compare_gitlab_cut_at_its_diff_limits_is_not_trusted(subject: Subject) -> None:
    forge, _ = listed_once(subject)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {f"k8s/f{i}.yaml": "x" for i in range(3)}, "3")
    subject.fake.gitlab_diff_max_files = 2  # compare_timeout: the diffs stop at two
    full = pages(subject, repo, new)
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)


def test_a_compare_at_the_lowest_diff_limit_is_not_trusted(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As many diffs as the lowest `diff_max_files`: maybe cut, whatever the answer says."""
    forge, _ = listed_once(subject)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {f"k8s/f{i}.yaml": "x" for i in range(3)}, "3")
    monkeypatch.setattr(gitlab_listing, "DIFF_MAX_FILES", 3)
    full = pages(subject, repo, new)
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)


def test_a_path_graphql_leaves_out_means_the_full_listing(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    forge, _ = listed_once(subject)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {"k8s/a.yaml": "a", "k8s/b.yaml": "b"}, "2")
    answered = gitlab_listing._oids

    def one_left_out(answer: Any, asked: set[str]) -> dict[str, str]:
        return {p: oid for p, oid in answered(answer, asked).items() if p != "k8s/b.yaml"}

    monkeypatch.setattr(gitlab_listing, "_oids", one_left_out)
    full = pages(subject, repo, new)
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare", "POST graphql"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)


def test_a_refused_blob_query_means_the_full_listing(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    forge, _ = listed_once(subject)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {"k8s/a.yaml": "a"}, "1")
    monkeypatch.setattr(gitlab_listing, "QUERY", "query { nonsense }")  # answered with errors
    full = pages(subject, repo, new)
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare", "POST graphql"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)


def test_a_blob_query_the_endpoint_refuses_means_the_full_listing(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    forge, _ = listed_once(subject)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {"k8s/a.yaml": "a"}, "1")
    graphql = GitLabApi.graphql

    def refused(api: GitLabApi, query: str, variables: Any) -> Any:
        if query == gitlab_listing.QUERY:
            raise ForgeError("gitlab POST /api/graphql: 400 Bad Request")
        return graphql(api, query, variables)

    monkeypatch.setattr(GitLabApi, "graphql", refused)
    full = pages(subject, repo, new)
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)


def test_a_refused_compare_means_the_full_listing(subject: Subject) -> None:
    """The kept commit unknown there (gone since): GitLab answers 404."""
    forge, _ = listed_once(subject)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {"k8s/a.yaml": "a"}, "1")
    full = pages(subject, repo, new)
    subject.reset_counts()
    subject.fake.fail_next(1, 404, body='{"message": "404 Ref Not Found"}')
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)


def test_more_blob_queries_than_tree_pages_means_the_full_listing(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    forge, _ = listed_once(subject)
    repo = subject.ref()
    full = pages(subject, repo, subject.fake.branch_head(REPO, "main") or "")
    changed = {f"src/mod0/new{i}.py": "x" for i in range(full + 1)}
    new = subject.fake.push_commit(REPO, "main", changed, "many")
    monkeypatch.setattr(gitlab_listing, "BATCH_PATHS", 1)  # a query per changed path
    full = pages(subject, repo, new)
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)


def test_a_listing_of_two_pages_or_fewer_is_listed_again(subject: Subject) -> None:
    """Deriving costs two calls at least: no saving on a small repository."""
    small: dict[str, bytes | str] = {"README.md": "# app\n", "k8s/pod.yaml": "kind: Pod\n"}
    forge, _ = listed_once(subject, small)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {"k8s/pod.yaml": "kind: Pod\n# v2\n"}, "v2")
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET tree"]
    assert listed == truth(subject, repo, new)


def test_no_kept_listing_of_the_repository_means_the_full_listing(subject: Subject) -> None:
    forge, _ = listed_once(subject)
    other = subject.seed(FILES, "acme/other")
    other_head = subject.fake.branch_head("acme/other", "main") or ""
    full = pages(subject, other, other_head)
    subject.reset_counts()
    listed = forge.list_files(other, other_head)
    assert sent(subject) == ["GET tree"] * full
    assert listed == truth(subject, other, other_head)


OVER_COMPLEXITY = {
    "errors": [{"message": "Query has complexity of 346, which exceeds max complexity of 250"}]
}


@pytest.fixture
def blob_queries_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitLab answers every blob query: over the complexity limit."""
    graphql = GitLabApi.graphql

    def over_the_limit(api: GitLabApi, query: str, variables: Any) -> Any:
        answer = graphql(api, query, variables)  # sent, and counted
        return OVER_COMPLEXITY if "blobs(" in query else answer

    monkeypatch.setattr(GitLabApi, "graphql", over_the_limit)


@pytest.mark.usefixtures("blob_queries_over_the_limit")
def test_blob_queries_over_the_instances_complexity_limit_are_not_sent_again(
    subject: Subject,
) -> None:
    """Some GitLab versions price `blobs(paths:)` above the limit whatever the page: the
    listing, and the files, go by REST from then on, without a refused query each time."""
    forge, _ = listed_once(subject)
    repo = subject.ref()
    new = subject.fake.push_commit(REPO, "main", {"k8s/a.yaml": "a"}, "1")
    full = pages(subject, repo, new)
    subject.reset_counts()
    listed = forge.list_files(repo, new)
    assert sent(subject) == ["GET compare", "POST graphql"] + ["GET tree"] * full
    assert listed == truth(subject, repo, new)
    newer = subject.fake.push_commit(REPO, "main", {"k8s/b.yaml": "b"}, "2")
    subject.reset_counts()
    forge.list_files(repo, newer)
    assert sent(subject) == ["GET tree"] * full
    subject.reset_counts()
    assert forge.read_files(repo, ["k8s/a.yaml", "k8s/b.yaml"], newer) == {
        "k8s/a.yaml": b"a",
        "k8s/b.yaml": b"b",
    }
    assert sent(subject) == ["GET raw", "GET raw"]


@pytest.mark.usefixtures("blob_queries_over_the_limit")
def test_file_reads_over_the_instances_complexity_limit_are_not_sent_again(
    subject: Subject,
) -> None:
    repo = subject.seed(FILES)
    forge = subject.make()
    head = subject.fake.branch_head(REPO, "main") or ""
    forge.list_files(repo, head)
    paths = ["k8s/app/deployment.yaml", "k8s/app/service.yaml"]
    subject.reset_counts()
    assert set(forge.read_files(repo, paths, head)) == set(paths)
    assert sent(subject) == ["POST graphql", "GET raw", "GET raw"]
    subject.reset_counts()
    assert set(forge.read_files(repo, paths, head)) == set(paths)
    assert sent(subject) == ["GET raw", "GET raw"]
