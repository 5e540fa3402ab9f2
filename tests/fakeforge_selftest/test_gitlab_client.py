"""python-gitlab, configured as the bot configures it in tests, accepts every answer of the fake."""

from __future__ import annotations

import pytest
from gitlab.exceptions import GitlabCreateError, GitlabGetError

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import REPO, gitlab_client, seeded


def test_reads_tree_and_files_through_every_page(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    fake_forge.page_size_cap = 2
    project = gitlab_client(fake_forge).projects.get(REPO)
    assert project.default_branch == "main"
    assert project.branches.get("main").commit["id"] == head
    tree = project.repository_tree(recursive=True, ref="main", get_all=True)
    assert {e["path"] for e in tree if e["type"] == "blob"} == {
        "README.md",
        "k8s/deploy.yaml",
        "k8s/base/service.yaml",
    }
    assert project.files.raw(file_path="k8s/base/service.yaml", ref="main") == b"kind: Service\n"
    assert project.files.get(file_path="README.md", ref="main").decode() == b"# app\n"
    with pytest.raises(GitlabGetError) as missing:
        project.files.raw(file_path="nope.yaml", ref="main")
    assert missing.value.response_code == 404


def test_commits_with_actions_and_branch_cleanup(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    project = gitlab_client(fake_forge).projects.get(REPO)
    commit = project.commits.create(
        {
            "branch": "pullpolicy/fix",
            "start_branch": "main",
            "commit_message": "Fix imagePullPolicy",
            "actions": [
                {"action": "update", "file_path": "k8s/deploy.yaml", "content": "fixed\n"},
            ],
        }
    )
    assert fake_forge.branch_head(REPO, "pullpolicy/fix") == commit.id
    assert project.commits.get(commit.id).parent_ids == [head]
    assert [c.id for c in project.commits.list(ref_name="pullpolicy/fix", get_all=True)] == [
        commit.id,
        head,
    ]
    compare = project.repository_compare("main", "pullpolicy/fix")
    assert isinstance(compare, dict)
    assert [d["new_path"] for d in compare["diffs"]] == ["k8s/deploy.yaml"]
    with pytest.raises(GitlabCreateError) as missing_file:
        project.commits.create(
            {
                "branch": "pullpolicy/fix",
                "commit_message": "m",
                "actions": [{"action": "update", "file_path": "nope", "content": "x"}],
            }
        )
    assert missing_file.value.response_code == 400
    project.branches.delete("pullpolicy/fix")
    assert fake_forge.branch_head(REPO, "pullpolicy/fix") is None


def test_merge_requests_notes_and_human_actions(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "fix", {"k8s/deploy.yaml": "fixed\n"}, "fix")
    client = gitlab_client(fake_forge)
    alice = client.users.list(username="alice")[0]
    project = client.projects.get(REPO)
    mr = project.mergerequests.create(
        {
            "source_branch": "fix",
            "target_branch": "main",
            "title": "Fix",
            "description": "body <!-- marker -->",
            "labels": ["pullpolicy"],
            "reviewer_ids": [alice.id],
        }
    )
    mr.notes.create({"body": "a note"})
    with pytest.raises(GitlabCreateError) as duplicate:
        project.mergerequests.create(
            {"source_branch": "fix", "target_branch": "main", "title": "x"}
        )
    assert duplicate.value.response_code == 409
    found = project.mergerequests.list(source_branch="fix", state="opened", get_all=True)
    assert [m.iid for m in found] == [mr.iid]
    fetched = project.mergerequests.get(mr.iid)
    assert [n.body for n in fetched.notes.list(get_all=True)] == ["a note"]
    fetched.title = "Draft: Fix again"
    fetched.labels = ["pullpolicy", "k8s"]
    fetched.save()
    record = fake_forge.change_requests(REPO)[0]
    assert (record.title, record.draft, record.labels, record.reviewers) == (
        "Fix again",
        True,
        ["pullpolicy", "k8s"],
        ["alice"],
    )
    assert record.comments == ["a note"]
    fake_forge.merge(REPO, mr.iid)
    assert project.mergerequests.get(mr.iid).state == "merged"
    assert fake_forge.read(REPO, "main", "k8s/deploy.yaml") == b"fixed\n"


def test_closing_through_state_event(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "fix", {"a": "b"}, "fix")
    project = gitlab_client(fake_forge).projects.get(REPO)
    mr = project.mergerequests.create(
        {"source_branch": "fix", "target_branch": "main", "title": "T"}
    )
    mr.state_event = "close"
    mr.save()
    assert fake_forge.change_requests(REPO)[0].state == "closed"
    assert project.mergerequests.list(state="opened", get_all=True) == []


def test_commit_statuses(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    commit = gitlab_client(fake_forge).projects.get(REPO).commits.get(head)
    commit.statuses.create({"state": "running", "name": "pullpolicy", "description": "scanning"})
    commit.statuses.create({"state": "failed", "name": "pullpolicy", "target_url": "http://x/y"})
    with pytest.raises(GitlabCreateError):
        commit.statuses.create({"state": "bogus", "name": "pullpolicy"})
    [listed] = commit.statuses.list(get_all=True)
    assert (listed.status, listed.target_url) == ("failed", "http://x/y")
    [stored] = fake_forge.statuses(REPO)
    assert (stored["sha"], stored["status"], stored["description"]) == (head, "failed", "scanning")


def test_throttling_is_retried_by_the_client_or_surfaces(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    client = gitlab_client(fake_forge)
    fake_forge.fail_next(2, 429, retry_after=0)
    fake_forge.reset_requests()
    assert client.projects.get(REPO).id == fake_forge.gitlab_project_id(REPO)
    assert len(fake_forge.requests) == 3  # python-gitlab obeys 429 + Retry-After by default
    fake_forge.fail_next(1, 429, retry_after=0)
    with pytest.raises(GitlabGetError) as throttled:
        client.projects.get(REPO, obey_rate_limit=False)
    assert throttled.value.response_code == 429
    fake_forge.fail_next(1, 502)
    with pytest.raises(GitlabGetError) as bad_gateway:
        client.projects.get(REPO)
    assert bad_gateway.value.response_code == 502
