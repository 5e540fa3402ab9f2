"""PyGithub, configured as the bot configures it in tests, accepts every answer of the fake."""

from __future__ import annotations

import time

import pytest
from github import GithubException, InputGitTreeElement, RateLimitExceededException

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import REPO, github_client, installation_token, seeded


def test_reads_the_tree_and_files(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    repo = github_client(fake_forge).get_repo(REPO)
    assert repo.default_branch == "main"
    assert repo.get_branch("main").commit.sha == head
    tree = repo.get_git_tree(head, recursive=True)
    blobs = {e.path: e.sha for e in tree.tree if e.type == "blob"}
    assert set(blobs) == {"README.md", "k8s/deploy.yaml", "k8s/base/service.yaml"}
    assert repo.get_git_blob(blobs["README.md"]).content  # base64 text
    content = repo.get_contents("k8s/deploy.yaml", ref="main")
    assert not isinstance(content, list)
    assert content.decoded_content == b"kind: Deployment\n"


def test_creates_a_branch_through_the_git_data_api(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    repo = github_client(fake_forge).get_repo(REPO)
    base = repo.get_git_commit(head)
    blob = repo.create_git_blob("kind: Deployment # fixed\n", "utf-8")
    tree = repo.create_git_tree(
        [
            InputGitTreeElement("k8s/deploy.yaml", "100644", "blob", sha=blob.sha),
            InputGitTreeElement("README.md", "100644", "blob", sha=None),
        ],
        base_tree=repo.get_git_tree(base.tree.sha),
    )
    commit = repo.create_git_commit("Fix imagePullPolicy", tree, [base])
    ref = repo.create_git_ref("refs/heads/pullpolicy/fix", commit.sha)
    assert fake_forge.branch_head(REPO, "pullpolicy/fix") == commit.sha
    assert fake_forge.read(REPO, "pullpolicy/fix", "README.md") is None
    assert fake_forge.read(REPO, "pullpolicy/fix", "k8s/deploy.yaml") == (
        b"kind: Deployment # fixed\n"
    )
    with pytest.raises(GithubException) as refused:
        repo.get_git_ref("heads/pullpolicy/fix").edit(head)
    assert refused.value.status == 422
    ref.edit(head, force=True)
    assert fake_forge.branch_head(REPO, "pullpolicy/fix") == head
    ref.delete()
    assert fake_forge.branch_head(REPO, "pullpolicy/fix") is None


def test_opens_finds_updates_and_closes_a_pull_request(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "fix", {"k8s/deploy.yaml": "fixed\n"}, "fix")
    repo = github_client(fake_forge).get_repo(REPO)
    pr = repo.create_pull(base="main", head="fix", title="Fix", body="body <!-- marker -->")
    pr.add_to_labels("pullpolicy")
    pr.create_review_request(reviewers=["alice"])
    pr.add_to_assignees("bob")
    pr.create_issue_comment("first comment")
    found = list(repo.get_pulls(state="open", head="acme:fix", base="main"))
    assert [p.number for p in found] == [pr.number]
    assert "<!-- marker -->" in found[0].body
    assert [c.body for c in found[0].get_issue_comments()] == ["first comment"]
    pr.edit(title="Fix (updated)")
    with pytest.raises(GithubException) as own_review:
        pr.create_review_request(reviewers=["pullpolicy-bot"])
    assert own_review.value.status == 422
    record = fake_forge.change_requests(REPO)[0]
    assert (record.title, record.labels, record.reviewers, record.assignees) == (
        "Fix (updated)",
        ["pullpolicy"],
        ["alice"],
        ["bob"],
    )
    pr.edit(state="closed")
    assert fake_forge.change_requests(REPO)[0].state == "closed"
    assert list(repo.get_pulls(state="open")) == []


def test_sees_a_pull_request_merged_by_a_human(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "fix", {"k8s/deploy.yaml": "fixed\n"}, "fix")
    fake_forge.push_commit(REPO, "main", {"unrelated.txt": "x"}, "main moves")
    repo = github_client(fake_forge).get_repo(REPO)
    pr = repo.create_pull(base="main", head="fix", title="Fix", body="")
    fake_forge.merge(REPO, pr.number)
    merged = repo.get_pull(pr.number)
    assert merged.merged and merged.state == "closed"
    assert fake_forge.read(REPO, "main", "k8s/deploy.yaml") == b"fixed\n"
    assert len(fake_forge.commit_parents(REPO, merged.merge_commit_sha)) == 2


def test_paginated_lists_walk_every_page_under_a_cap(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    for index in range(5):
        fake_forge.push_commit(REPO, "main", {"n": str(index)}, f"c{index}")
    fake_forge.page_size_cap = 2
    repo = github_client(fake_forge).get_repo(REPO)
    fake_forge.reset_requests()
    assert len(list(repo.get_commits(sha="main"))) == 6
    assert sum(1 for method, path in fake_forge.requests if path.endswith("/commits")) == 3


def test_truncated_trees_are_visible_to_the_client(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    fake_forge.truncate_trees = True
    tree = github_client(fake_forge).get_repo(REPO).get_git_tree(head, recursive=True)
    assert tree.raw_data["truncated"] is True
    assert {e.path for e in tree.tree} == {"README.md", "k8s"}


def test_rate_limit_faults_raise_the_clients_rate_limit_error(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    client = github_client(fake_forge)
    reset = int(time.time()) + 30
    fake_forge.fail_next(1, 403, ratelimit_reset=reset)
    with pytest.raises(RateLimitExceededException) as primary:
        client.get_repo(REPO)
    assert primary.value.headers is not None
    assert primary.value.headers["x-ratelimit-remaining"] == "0"
    assert primary.value.headers["x-ratelimit-reset"] == str(reset)
    fake_forge.fail_next(1, 403, retry_after=7)
    with pytest.raises(RateLimitExceededException) as secondary:
        client.get_repo(REPO)
    assert secondary.value.headers is not None
    assert secondary.value.headers["retry-after"] == "7"
    fake_forge.fail_next(1, 502)
    with pytest.raises(GithubException) as bad_gateway:
        client.get_repo(REPO)
    assert bad_gateway.value.status == 502
    assert client.get_repo(REPO).full_name == REPO  # the faults are used up


def test_check_runs_with_annotations_in_batches_of_fifty(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    token = installation_token(fake_forge)
    repo = github_client(fake_forge, token).get_repo(REPO)

    def annotations(count: int) -> list[dict[str, str | int]]:
        return [
            {
                "path": "k8s/deploy.yaml",
                "start_line": i + 1,
                "end_line": i + 1,
                "annotation_level": "warning",
                "message": f"finding {i}",
            }
            for i in range(count)
        ]

    run = repo.create_check_run(
        name="pullpolicy",
        head_sha=head,
        status="in_progress",
        output={"title": "Scan", "summary": "60 findings", "annotations": annotations(50)},
    )
    run.edit(
        conclusion="failure",
        output={"title": "Scan", "summary": "60 findings", "annotations": annotations(10)},
    )
    with pytest.raises(GithubException) as too_many:
        run.edit(output={"title": "Scan", "summary": "s", "annotations": annotations(51)})
    assert too_many.value.status == 422
    [stored] = fake_forge.check_runs(REPO)
    assert (stored["status"], stored["conclusion"]) == ("completed", "failure")
    assert len(stored["annotations"]) == 60
    assert repo.get_check_run(run.id).output.annotations_count == 60
    listed = repo.get_commit(head).get_check_runs(check_name="pullpolicy")
    assert [r.id for r in listed] == [run.id]
