"""The GitLab dialect over plain HTTP: encoded ids and paths, conflict codes, statuses, faults."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import REPO, TOKEN, HttpResult, http, seeded

ENCODED = "acme%2Fapp"


def gl(forge: FakeForge, path: str) -> str:
    return f"{forge.gitlab_url}/api/v4/projects/{ENCODED}{path}"


def post(forge: FakeForge, path: str, body: dict[str, Any]) -> HttpResult:
    return http("POST", gl(forge, path), gitlab_token=TOKEN, body=body)


def commit_body(branch: str, actions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"branch": branch, "commit_message": "bot change", "actions": actions, **extra}


def test_project_by_encoded_path_or_id_and_file_by_encoded_path(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    by_path = http("GET", gl(fake_forge, ""), gitlab_token=TOKEN).json()
    project_id = fake_forge.gitlab_project_id(REPO)
    assert (by_path["id"], by_path["path_with_namespace"]) == (project_id, REPO)
    by_id = f"{fake_forge.gitlab_url}/api/v4/projects/{project_id}"
    assert http("GET", by_id, gitlab_token=TOKEN).json()["id"] == project_id
    raw = http(
        "GET",
        gl(fake_forge, "/repository/files/k8s%2Fdeploy.yaml/raw?ref=main"),
        gitlab_token=TOKEN,
    )
    assert (raw.status, raw.body) == (200, b"kind: Deployment\n")
    missing = http(
        "GET", gl(fake_forge, "/repository/files/nope.yaml/raw?ref=main"), gitlab_token=TOKEN
    )
    assert (missing.status, missing.json()["message"]) == (404, "404 File Not Found")


def test_auth_and_unknown_routes(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    assert http("GET", gl(fake_forge, "")).status == 401
    assert http("GET", gl(fake_forge, ""), gitlab_token="wrong").status == 401
    bearer = http("GET", gl(fake_forge, ""), headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status == 200
    assert http("GET", gl(fake_forge, "/nothing/here"), gitlab_token=TOKEN).status == 404
    other = f"{fake_forge.gitlab_url}/api/v4/projects/acme%2Fnope"
    assert http("GET", other, gitlab_token=TOKEN).json()["message"] == "404 Project Not Found"


def test_tree_pagination_headers_follow_gitlab(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.page_size_cap = 2
    first = http(
        "GET", gl(fake_forge, "/repository/tree?recursive=true&per_page=50"), gitlab_token=TOKEN
    )
    assert len(first.json()) == 2
    assert (first.headers["x-total"], first.headers["x-next-page"]) == ("5", "2")
    assert 'rel="next"' in first.headers["link"]
    last = http("GET", gl(fake_forge, "/repository/tree?recursive=true&page=3"), gitlab_token=TOKEN)
    assert len(last.json()) == 1
    assert last.headers["x-next-page"] == ""


def test_commit_actions_are_validated_like_gitlab(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    update_missing = post(
        fake_forge,
        "/repository/commits",
        commit_body("main", [{"action": "update", "file_path": "nope.yaml", "content": "x"}]),
    )
    assert update_missing.status == 400
    assert update_missing.json()["message"] == "A file with this name doesn't exist"
    create_existing = post(
        fake_forge,
        "/repository/commits",
        commit_body("main", [{"action": "create", "file_path": "README.md", "content": "x"}]),
    )
    assert create_existing.status == 400
    no_branch = post(
        fake_forge,
        "/repository/commits",
        commit_body("new", [{"action": "create", "file_path": "n", "content": "x"}]),
    )
    assert no_branch.status == 400
    assert fake_forge.branch_head(REPO, "new") is None


def test_commit_actions_create_update_move_delete_on_a_new_branch(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    result = post(
        fake_forge,
        "/repository/commits",
        commit_body(
            "bot",
            [
                {"action": "update", "file_path": "k8s/deploy.yaml", "content": "fixed\n"},
                {
                    "action": "create",
                    "file_path": "bin",
                    "content": base64.b64encode(b"\x01\x02").decode(),
                    "encoding": "base64",
                },
                {"action": "move", "file_path": "docs/README.md", "previous_path": "README.md"},
                {"action": "delete", "file_path": "k8s/base/service.yaml"},
            ],
            start_branch="main",
        ),
    )
    assert result.status == 201
    sha = result.json()["id"]
    assert fake_forge.branch_head(REPO, "bot") == sha
    assert fake_forge.commit_parents(REPO, sha) == [head]
    assert fake_forge.files(REPO, "bot") == {
        "k8s/deploy.yaml": b"fixed\n",
        "bin": b"\x01\x02",
        "docs/README.md": b"# app\n",
    }


def test_existing_branch_with_another_start_needs_force(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    stale = fake_forge.push_commit(REPO, "bot", {"old": "x"}, "old attempt")
    action = [{"action": "update", "file_path": "README.md", "content": "new\n"}]
    refused = post(
        fake_forge, "/repository/commits", commit_body("bot", action, start_branch="main")
    )
    assert refused.status == 400
    assert fake_forge.branch_head(REPO, "bot") == stale
    forced = post(
        fake_forge,
        "/repository/commits",
        commit_body("bot", action, start_branch="main", force=True),
    )
    assert forced.status == 201
    assert fake_forge.commit_parents(REPO, forced.json()["id"]) == [head]
    assert fake_forge.read(REPO, "bot", "old") is None


def test_merge_requests_refuse_duplicates_with_409(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "bot", {"a": "b"}, "change")
    body = {"source_branch": "bot", "target_branch": "main", "title": "Draft: Fix", "labels": "a,b"}
    created = post(fake_forge, "/merge_requests", body)
    assert created.status == 201
    assert (created.json()["draft"], created.json()["labels"]) == (True, ["a", "b"])
    duplicate = post(fake_forge, "/merge_requests", body)
    assert duplicate.status == 409
    assert "Another open merge request already exists" in duplicate.json()["message"][0]
    [record] = fake_forge.change_requests(REPO)
    assert (record.title, record.draft, record.labels) == ("Fix", True, ["a", "b"])


def test_merge_request_updates_take_labels_as_list_or_string_and_close(
    fake_forge: FakeForge,
) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "bot", {"a": "b"}, "change")
    iid = post(
        fake_forge,
        "/merge_requests",
        {"source_branch": "bot", "target_branch": "main", "title": "T"},
    ).json()["iid"]
    url = gl(fake_forge, f"/merge_requests/{iid}")
    http("PUT", url, gitlab_token=TOKEN, body={"labels": ["x", "y"], "description": "d"})
    assert fake_forge.change_requests(REPO)[0].labels == ["x", "y"]
    http("PUT", url, gitlab_token=TOKEN, body={"labels": "z", "title": "[Draft] T2"})
    record = fake_forge.change_requests(REPO)[0]
    assert (record.labels, record.title, record.draft, record.body) == (["z"], "T2", True, "d")
    closed = http("PUT", url, gitlab_token=TOKEN, body={"state_event": "close"})
    assert closed.json()["state"] == "closed"
    opened = http("GET", gl(fake_forge, "/merge_requests?state=opened"), gitlab_token=TOKEN)
    assert opened.json() == []


def test_commit_status_transitions_follow_gitlab(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    path = f"/statuses/{head}"
    assert post(fake_forge, path, {"state": "pending", "name": "pp"}).status == 201
    again = post(fake_forge, path, {"state": "pending", "name": "pp"})
    assert again.status == 400
    assert "Cannot transition status via :enqueue from :pending" in again.json()["message"]
    assert post(fake_forge, path, {"state": "running", "name": "pp"}).status == 201
    assert post(fake_forge, path, {"state": "success", "name": "pp"}).status == 201
    # A finished status is kept; posting again starts a new one.
    assert post(fake_forge, path, {"state": "failed", "name": "pp"}).status == 201
    listed = http(
        "GET", gl(fake_forge, f"/repository/commits/{head}/statuses"), gitlab_token=TOKEN
    ).json()
    assert [(s["name"], s["status"]) for s in listed] == [("pp", "failed")]
    assert [s["status"] for s in fake_forge.statuses(REPO)] == ["success", "failed"]


def test_throttling_faults_carry_gitlab_headers(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.fail_next(1, 429, ratelimit_reset=1_900_000_000)
    throttled = http("GET", gl(fake_forge, ""), gitlab_token=TOKEN)
    assert throttled.status == 429
    assert throttled.headers["ratelimit-reset"] == "1900000000"
    assert throttled.headers["ratelimit-remaining"] == "0"
    fake_forge.fail_next(1, 429, retry_after=3, body='{"message": "slow down"}')
    custom = http("GET", gl(fake_forge, ""), gitlab_token=TOKEN)
    assert (custom.status, custom.headers["retry-after"]) == (429, "3")
    assert custom.json() == {"message": "slow down"}
    assert http("GET", gl(fake_forge, ""), gitlab_token=TOKEN).status == 200
