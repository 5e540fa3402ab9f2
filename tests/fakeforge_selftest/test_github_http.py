"""The GitHub dialect over plain HTTP: routing, auth, conflict codes, trees, pagination."""

from __future__ import annotations

import base64
import re
import time

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import REPO, TOKEN, http, installation_token, seeded


def api(forge: FakeForge, path: str) -> str:
    return f"{forge.github_api_url}/repos/{REPO}{path}"


def test_unknown_routes_answer_404_never_a_canned_200(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    for url in (
        api(fake_forge, "/no-such-thing"),
        f"{fake_forge.github_api_url}/repos/{REPO}/pulls/1/files/extra",
        f"{fake_forge.url}/nowhere",
        f"{fake_forge.github_api_url}/repos/acme/missing",
    ):
        result = http("GET", url, token=TOKEN)
        assert result.status == 404, url
        assert result.json()["message"] == "Not Found"


def test_requests_without_or_with_bad_credentials_are_refused(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    assert http("GET", api(fake_forge, "")).status == 401
    refused = http("GET", api(fake_forge, ""), token="wrong")
    assert refused.status == 401
    assert refused.json()["message"] == "Bad credentials"
    bearer = http("GET", api(fake_forge, ""), headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status == 200


def test_urls_in_responses_follow_the_host_header(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    port = fake_forge.url.rsplit(":", 1)[1]
    result = http("GET", f"http://localhost:{port}/api/v3/repos/{REPO}", token=TOKEN)
    repo = result.json()
    assert repo["url"] == f"http://localhost:{port}/api/v3/repos/{REPO}"
    assert repo["owner"]["url"].startswith(f"http://localhost:{port}/api/v3/")


def test_ref_lifecycle_uses_githubs_conflict_codes(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    child = fake_forge.push_commit(REPO, "side", {"x": "1"}, "side work")
    refs = api(fake_forge, "/git/refs")
    created = http("POST", refs, token=TOKEN, body={"ref": "refs/heads/bot", "sha": child})
    assert created.status == 201
    assert created.json()["object"]["sha"] == child
    again = http("POST", refs, token=TOKEN, body={"ref": "refs/heads/bot", "sha": child})
    assert (again.status, again.json()["message"]) == (422, "Reference already exists")
    backwards = http("PATCH", f"{refs}/heads/bot", token=TOKEN, body={"sha": head})
    assert (backwards.status, backwards.json()["message"]) == (422, "Update is not a fast forward")
    assert fake_forge.branch_head(REPO, "bot") == child
    forced = http("PATCH", f"{refs}/heads/bot", token=TOKEN, body={"sha": head, "force": True})
    assert forced.status == 200
    assert fake_forge.branch_head(REPO, "bot") == head
    assert http("GET", api(fake_forge, "/git/ref/heads/bot"), token=TOKEN).status == 200
    assert http("DELETE", f"{refs}/heads/bot", token=TOKEN).status == 204
    gone = http("DELETE", f"{refs}/heads/bot", token=TOKEN)
    assert (gone.status, gone.json()["message"]) == (422, "Reference does not exist")
    assert http("GET", api(fake_forge, "/git/ref/heads/bot"), token=TOKEN).status == 404


def test_creating_a_ref_to_a_missing_object_or_a_bad_name_is_refused(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    refs = api(fake_forge, "/git/refs")
    missing = http("POST", refs, token=TOKEN, body={"ref": "refs/heads/x", "sha": "1" * 40})
    assert missing.status == 422
    short = http("POST", refs, token=TOKEN, body={"ref": "heads/x", "sha": head})
    assert short.status == 422
    assert fake_forge.branch_head(REPO, "x") is None


def test_recursive_tree_lists_every_path_and_truncation_needs_subtree_walks(
    fake_forge: FakeForge,
) -> None:
    head = seeded(fake_forge)
    full = http("GET", api(fake_forge, f"/git/trees/{head}?recursive=1"), token=TOKEN).json()
    assert full["truncated"] is False
    assert {e["path"] for e in full["tree"] if e["type"] == "blob"} == {
        "README.md",
        "k8s/deploy.yaml",
        "k8s/base/service.yaml",
    }
    fake_forge.truncate_trees = True
    cut = http("GET", api(fake_forge, f"/git/trees/{head}?recursive=1"), token=TOKEN).json()
    assert cut["truncated"] is True
    assert {e["path"] for e in cut["tree"]} == {"README.md", "k8s"}
    k8s = next(e for e in cut["tree"] if e["path"] == "k8s")
    sub = http("GET", api(fake_forge, f"/git/trees/{k8s['sha']}"), token=TOKEN).json()
    assert {e["path"] for e in sub["tree"]} == {"deploy.yaml", "base"}


def test_git_data_writes_build_a_commit_from_content_shas_and_deletions(
    fake_forge: FakeForge,
) -> None:
    head = seeded(fake_forge)
    blob = http(
        "POST",
        api(fake_forge, "/git/blobs"),
        token=TOKEN,
        body={"content": base64.b64encode(b"\x00binary").decode(), "encoding": "base64"},
    )
    assert blob.status == 201
    base_tree = http("GET", api(fake_forge, f"/git/commits/{head}"), token=TOKEN).json()
    tree = http(
        "POST",
        api(fake_forge, "/git/trees"),
        token=TOKEN,
        body={
            "base_tree": base_tree["tree"]["sha"],
            "tree": [
                {"path": "k8s/deploy.yaml", "mode": "100644", "type": "blob", "content": "fixed\n"},
                {"path": "bin.dat", "mode": "100644", "type": "blob", "sha": blob.json()["sha"]},
                {"path": "README.md", "mode": "100644", "type": "blob", "sha": None},
            ],
        },
    )
    assert tree.status == 201
    commit = http(
        "POST",
        api(fake_forge, "/git/commits"),
        token=TOKEN,
        body={"message": "Fix", "tree": tree.json()["sha"], "parents": [head]},
    )
    assert commit.status == 201
    sha = commit.json()["sha"]
    assert fake_forge.commit_parents(REPO, sha) == [head]
    assert fake_forge.files(REPO, sha) == {
        "k8s/deploy.yaml": b"fixed\n",
        "k8s/base/service.yaml": b"kind: Service\n",
        "bin.dat": b"\x00binary",
    }


def test_commit_with_a_missing_parent_or_tree_is_refused(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    tree = http("GET", api(fake_forge, f"/git/commits/{head}"), token=TOKEN).json()["tree"]["sha"]
    url = api(fake_forge, "/git/commits")
    bad_parent = {"message": "m", "tree": tree, "parents": ["2" * 40]}
    assert http("POST", url, token=TOKEN, body=bad_parent).status == 422
    bad_tree = {"message": "m", "tree": "3" * 40, "parents": [head]}
    assert http("POST", url, token=TOKEN, body=bad_tree).status == 422


def test_commit_listing_paginates_with_link_headers_and_honours_the_cap(
    fake_forge: FakeForge,
) -> None:
    seeded(fake_forge)
    for index in range(4):
        fake_forge.push_commit(REPO, "main", {"n.txt": str(index)}, f"commit {index}")
    fake_forge.page_size_cap = 2
    first = http("GET", api(fake_forge, "/commits?sha=main&per_page=100"), token=TOKEN)
    assert len(first.json()) == 2
    match = re.search(r'<([^>]+)>; rel="next"', first.headers["link"])
    assert match is not None
    seen = [c["sha"] for c in first.json()]
    url: str | None = match.group(1)
    while url:
        page = http("GET", url, token=TOKEN)
        seen += [c["sha"] for c in page.json()]
        found = re.search(r'<([^>]+)>; rel="next"', page.headers.get("link", ""))
        url = found.group(1) if found else None
    assert len(seen) == 5 == len(set(seen))
    assert seen[0] == fake_forge.branch_head(REPO, "main")


def test_compare_reports_ahead_behind_and_changed_files(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "feature", {"k8s/deploy.yaml": "changed\n"}, "feature")
    fake_forge.push_commit(REPO, "main", {"other.txt": "x"}, "main moves on")
    result = http("GET", api(fake_forge, "/compare/main...feature"), token=TOKEN).json()
    assert (result["status"], result["ahead_by"], result["behind_by"]) == ("diverged", 1, 1)
    assert [f["filename"] for f in result["files"]] == ["k8s/deploy.yaml"]


def test_contents_returns_files_directories_and_404(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    file_json = http("GET", api(fake_forge, "/contents/k8s/deploy.yaml?ref=main"), token=TOKEN)
    assert base64.b64decode(file_json.json()["content"]) == b"kind: Deployment\n"
    listing = http("GET", api(fake_forge, "/contents/k8s"), token=TOKEN).json()
    assert {(e["name"], e["type"]) for e in listing} == {("deploy.yaml", "file"), ("base", "dir")}
    assert http("GET", api(fake_forge, "/contents/nope.yaml"), token=TOKEN).status == 404


def test_pull_requests_refuse_duplicates_and_empty_heads(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    pulls = api(fake_forge, "/pulls")
    same = {"ref": "refs/heads/same", "sha": head}
    assert http("POST", api(fake_forge, "/git/refs"), token=TOKEN, body=same).status == 201
    nothing = http("POST", pulls, token=TOKEN, body={"title": "t", "head": "same", "base": "main"})
    assert nothing.status == 422
    assert "No commits between" in nothing.json()["errors"][0]["message"]
    fake_forge.push_commit(REPO, "fix", {"a": "1"}, "fix")
    body = {"title": "Fix", "head": "acme:fix", "base": "main", "body": "text"}
    assert http("POST", pulls, token=TOKEN, body=body).status == 201
    duplicate = http("POST", pulls, token=TOKEN, body=body)
    assert duplicate.status == 422
    assert "already exists" in duplicate.json()["errors"][0]["message"]
    missing_head = {"title": "t", "head": "nope", "base": "main"}
    assert http("POST", pulls, token=TOKEN, body=missing_head).status == 422
    assert len(fake_forge.change_requests(REPO)) == 1


def test_pull_list_filters_head_only_as_owner_colon_branch(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    for branch in ("one", "two"):
        fake_forge.push_commit(REPO, branch, {branch: "x"}, branch)
        body = {"title": branch, "head": branch, "base": "main"}
        assert http("POST", api(fake_forge, "/pulls"), token=TOKEN, body=body).status == 201
    qualified = http("GET", api(fake_forge, "/pulls?head=acme:two"), token=TOKEN).json()
    assert [p["head"]["ref"] for p in qualified] == ["two"]
    # GitHub ignores an unqualified head filter and lists everything.
    bare = http("GET", api(fake_forge, "/pulls?head=two"), token=TOKEN).json()
    assert len(bare) == 2
    fake_forge.close(REPO, 1)
    assert len(http("GET", api(fake_forge, "/pulls"), token=TOKEN).json()) == 1
    assert len(http("GET", api(fake_forge, "/pulls?state=all"), token=TOKEN).json()) == 2


def test_check_runs_need_a_github_app(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    result = http(
        "POST",
        api(fake_forge, "/check-runs"),
        token=TOKEN,
        body={"name": "pullpolicy", "head_sha": head},
    )
    assert result.status == 403
    assert fake_forge.check_runs(REPO) == []


def test_rate_limit_endpoint_and_headers(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    result = http("GET", f"{fake_forge.github_api_url}/rate_limit", token=TOKEN)
    assert result.json()["resources"]["core"]["limit"] == 5000
    assert int(result.headers["x-ratelimit-remaining"]) > 0


def test_request_log_records_api_calls_but_not_seeding(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.reset_requests()
    http("GET", api(fake_forge, ""), token=TOKEN)
    http("GET", api(fake_forge, "/branches/main"), token=TOKEN)
    fake_forge.push_commit(REPO, "main", {"z": "z"}, "seeding is not an API call")
    assert fake_forge.requests == [
        ("GET", f"/api/v3/repos/{REPO}"),
        ("GET", f"/api/v3/repos/{REPO}/branches/main"),
    ]


def test_a_rate_limit_window_counts_per_credential_and_refuses_past_its_limit(
    fake_forge: FakeForge,
) -> None:
    seeded(fake_forge)
    fake_forge.limit_rate(3, window_seconds=3600)
    answers = [http("GET", api(fake_forge, ""), token=TOKEN) for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 403]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[3].json()["message"].startswith("API rate limit exceeded")
    assert int(answers[0].headers["x-ratelimit-reset"]) > 0
    assert (fake_forge.rate_limited, fake_forge.rate_counted) == (1, 3)
    fake_forge.limit_rate(None)
    assert http("GET", api(fake_forge, ""), token=TOKEN).status == 200


def test_a_not_modified_answer_is_not_counted(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.limit_rate(10, window_seconds=3600)
    first = http("GET", api(fake_forge, ""), token=TOKEN)
    etag = first.headers["etag"]
    again = http("GET", api(fake_forge, ""), token=TOKEN, headers={"If-None-Match": etag})
    assert again.status == 304
    assert fake_forge.rate_counted == 1
    fake_forge.limit_rate(None)


def test_a_window_refills_after_its_length(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.limit_rate(1, window_seconds=0.5)
    assert http("GET", api(fake_forge, ""), token=TOKEN).status == 200
    assert http("GET", api(fake_forge, ""), token=TOKEN).status == 403
    deadline = time.monotonic() + 10
    while http("GET", api(fake_forge, ""), token=TOKEN).status == 403:
        assert time.monotonic() < deadline, "the window never refilled"
        time.sleep(0.1)
    fake_forge.limit_rate(None)


def test_tokens_of_one_installation_share_its_rate_limit(fake_forge: FakeForge) -> None:
    # GitHub counts an installation's requests whichever of its tokens made them: two workers
    # that each minted a token do not get twice the budget.
    seeded(fake_forge)
    first, second = installation_token(fake_forge), installation_token(fake_forge)
    assert first != second
    fake_forge.limit_rate(2, window_seconds=3600)
    answers = [http("GET", api(fake_forge, ""), token=t) for t in (first, second, second)]
    assert [a.status for a in answers] == [200, 200, 403]
    assert http("GET", api(fake_forge, ""), token=TOKEN).status == 200  # a user's own budget
    fake_forge.limit_rate(None)
