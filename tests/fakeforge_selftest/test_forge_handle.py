"""The test-facing FakeForge handle: seeding, inspection, human actions, concurrency, faults."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.fakeforge import FakeForge
from tests.fakeforge.faults import Fault, FaultSchedule
from tests.fakeforge.state import MergeConflict
from tests.fakeforge_selftest.helpers import REPO, TOKEN, http, seeded


def test_push_commit_builds_on_the_branch_deletes_with_none_and_honours_parent(
    fake_forge: FakeForge,
) -> None:
    head = seeded(fake_forge)
    first = fake_forge.push_commit(REPO, "topic", {"new.txt": b"\x00", "README.md": None}, "m1")
    assert fake_forge.commit_parents(REPO, first) == [head]  # a new branch starts from main
    second = fake_forge.push_commit(REPO, "topic", {"more.txt": "x"}, "m2")
    assert fake_forge.commit_parents(REPO, second) == [first]
    assert fake_forge.files(REPO, "topic") == {
        "new.txt": b"\x00",
        "more.txt": b"x",
        "k8s/deploy.yaml": b"kind: Deployment\n",
        "k8s/base/service.yaml": b"kind: Service\n",
    }
    rewritten = fake_forge.push_commit(REPO, "topic", {"other": "y"}, "rewrite", parent=head)
    assert fake_forge.branch_head(REPO, "topic") == rewritten
    assert fake_forge.read(REPO, "topic", "more.txt") is None
    assert fake_forge.commit_message(REPO, rewritten) == "rewrite"


def test_records_are_shared_between_the_github_and_gitlab_apis(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "fix", {"a": "1"}, "fix")
    github = f"{fake_forge.github_api_url}/repos/{REPO}/pulls"
    body = {"title": "Fix", "head": "fix", "base": "main"}
    number = http("POST", github, token=TOKEN, body=body).json()["number"]
    gitlab = f"{fake_forge.gitlab_url}/api/v4/projects/{fake_forge.gitlab_project_id(REPO)}"
    mr = http("GET", f"{gitlab}/merge_requests/{number}", gitlab_token=TOKEN).json()
    assert (mr["iid"], mr["source_branch"], mr["state"]) == (number, "fix", "opened")
    duplicate = {"source_branch": "fix", "target_branch": "main", "title": "again"}
    assert http("POST", f"{gitlab}/merge_requests", gitlab_token=TOKEN, body=duplicate).status == (
        409
    )


def test_merge_fast_forwards_when_it_can_and_refuses_conflicts(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fix = fake_forge.push_commit(REPO, "fix", {"k8s/deploy.yaml": "fixed\n"}, "fix")
    clash = fake_forge.push_commit(REPO, "clash", {"k8s/deploy.yaml": "other\n"}, "clash")
    pulls = f"{fake_forge.github_api_url}/repos/{REPO}/pulls"
    for branch in ("fix", "clash"):
        body = {"title": branch, "head": branch, "base": "main"}
        assert http("POST", pulls, token=TOKEN, body=body).status == 201
    fake_forge.merge(REPO, 1)
    assert fake_forge.branch_head(REPO, "main") == fix  # fast-forward
    assert fake_forge.change_requests(REPO)[0].merged
    with pytest.raises(MergeConflict):
        fake_forge.merge(REPO, 2)
    assert fake_forge.branch_head(REPO, "main") == fix
    assert fake_forge.branch_head(REPO, "clash") == clash
    fake_forge.close(REPO, 2)
    record = fake_forge.change_requests(REPO)[1]
    assert (record.state, record.merged) == ("closed", False)


def test_concurrent_pull_requests_on_one_head_yield_exactly_one(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "fix", {"a": "1"}, "fix")
    url = f"{fake_forge.github_api_url}/repos/{REPO}/pulls"
    statuses: list[int] = []
    lock = threading.Lock()

    def open_pull() -> None:
        result = http("POST", url, token=TOKEN, body={"title": "t", "head": "fix", "base": "main"})
        with lock:
            statuses.append(result.status)

    threads = [threading.Thread(target=open_pull) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [422] * 7
    assert len(fake_forge.change_requests(REPO)) == 1


def test_concurrent_commits_to_one_branch_are_all_kept(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    url = f"{fake_forge.gitlab_url}/api/v4/projects/acme%2Fapp/repository/commits"

    def commit(index: int) -> None:
        action = {"action": "create", "file_path": f"f{index}", "content": str(index)}
        body = {"branch": "main", "commit_message": f"c{index}", "actions": [action]}
        assert http("POST", url, gitlab_token=TOKEN, body=body).status == 201

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = fake_forge.files(REPO, "main")
    assert {f"f{i}" for i in range(6)} <= set(files)


def test_fault_schedule_serves_each_fault_and_delay_once() -> None:
    schedule = FaultSchedule()
    schedule.fail_next(2, Fault(502))
    schedule.slow_next(1, 0.25)
    assert schedule.take() == (Fault(502), 0.25)
    assert schedule.take() == (Fault(502), 0.0)
    assert schedule.take() == (None, 0.0)


def test_slowed_requests_still_answer_and_faults_are_logged(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    repo_url = f"{fake_forge.github_api_url}/repos/{REPO}"
    fake_forge.slow_next(1, 0.05)
    fake_forge.fail_next(1, 502)
    fake_forge.reset_requests()
    assert http("GET", repo_url, token=TOKEN).status == 502
    assert http("GET", repo_url, token=TOKEN).status == 200
    assert len(fake_forge.requests) == 2


def test_unknown_repositories_are_refused_by_the_handle(tmp_path: Path) -> None:
    forge = FakeForge(tmp_path / "forge")
    with pytest.raises(KeyError):
        forge.branch_head("acme/none", "main")
    with pytest.raises(RuntimeError):
        _ = forge.url  # not started
    forge.create_repo("group/sub/project", {"a": "b"})
    assert forge.gitlab_project_id("group/sub/project") == 1
    with pytest.raises(ValueError, match="cannot create"):
        forge.create_repo("group/sub/project", {})
