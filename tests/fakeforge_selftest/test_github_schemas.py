"""Every GitHub endpoint the fake serves answers in the shape GitHub's OpenAPI description gives.

The schemas are vendored from @octokit/openapi (tests/fakeforge/openapi/github_schemas.json, see
extract_github_schemas.py there). One scenario drives each endpoint and status listed in the
vendored file and validates the body; it also fails if an endpoint was never exercised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import (
    INSTALLATION_ID,
    REPO,
    TOKEN,
    HttpResult,
    app_jwt,
    http,
    installation_token,
    seeded,
)

SCHEMAS = json.loads(
    (Path(__file__).parents[1] / "fakeforge" / "openapi" / "github_schemas.json").read_text()
)


class Scenario:
    def __init__(self, forge: FakeForge) -> None:
        self.forge = forge
        self.results: list[tuple[str, str, HttpResult]] = []
        self.token = TOKEN

    def call(
        self,
        endpoint: str,
        path: str,
        body: Any = None,
        expect: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Any:
        method = endpoint.split(" ", 1)[0]
        auth = None if headers else self.token
        result = http(
            method, f"{self.forge.github_api_url}{path}", token=auth, body=body, headers=headers
        )
        assert result.status == expect, (endpoint, result.status, result.body[:300])
        self.results.append((endpoint, str(expect), result))
        return result.json()


def drive_every_endpoint(forge: FakeForge) -> Scenario:
    head = seeded(forge)
    s = Scenario(forge)
    repo = f"/repos/{REPO}"
    r = "/repos/{owner}/{repo}"
    s.call(f"GET {r}", repo)
    s.call(f"GET {r}", "/repos/acme/none", expect=404)
    s.call(f"GET {r}/branches/{{branch}}", f"{repo}/branches/main")
    s.call(f"GET {r}/branches/{{branch}}", f"{repo}/branches/none", expect=404)
    s.call(f"GET {r}/commits", f"{repo}/commits?sha=main")
    s.call(f"GET {r}/commits/{{ref}}", f"{repo}/commits/{head}")
    s.call(f"GET {r}/commits/{{ref}}", f"{repo}/commits/{'9' * 40}", expect=422)
    s.call(f"GET {r}/contents/{{path}}", f"{repo}/contents/k8s/deploy.yaml")
    s.call(f"GET {r}/contents/{{path}}", f"{repo}/contents/k8s")
    s.call(f"GET {r}/contents/{{path}}", f"{repo}/contents/none", expect=404)
    git_commit = s.call(f"GET {r}/git/commits/{{commit_sha}}", f"{repo}/git/commits/{head}")
    s.call(f"GET {r}/git/commits/{{commit_sha}}", f"{repo}/git/commits/{'8' * 40}", expect=404)
    tree_sha = git_commit["tree"]["sha"]
    tree = s.call(f"GET {r}/git/trees/{{tree_sha}}", f"{repo}/git/trees/{tree_sha}?recursive=1")
    s.call(f"GET {r}/git/trees/{{tree_sha}}", f"{repo}/git/trees/{'7' * 40}", expect=404)
    blob_sha = next(e["sha"] for e in tree["tree"] if e["type"] == "blob")
    s.call(f"GET {r}/git/blobs/{{file_sha}}", f"{repo}/git/blobs/{blob_sha}")
    s.call(f"GET {r}/git/blobs/{{file_sha}}", f"{repo}/git/blobs/{'6' * 40}", expect=404)
    blob = s.call(
        f"POST {r}/git/blobs", f"{repo}/git/blobs", {"content": "x\n", "encoding": "utf-8"}, 201
    )
    new_tree = s.call(
        f"POST {r}/git/trees",
        f"{repo}/git/trees",
        {
            "base_tree": tree_sha,
            "tree": [{"path": "k8s/x.yaml", "mode": "100644", "type": "blob", "sha": blob["sha"]}],
        },
        201,
    )
    s.call(f"POST {r}/git/trees", f"{repo}/git/trees", {"base_tree": "5" * 40, "tree": []}, 422)
    commit = s.call(
        f"POST {r}/git/commits",
        f"{repo}/git/commits",
        {"message": "m", "tree": new_tree["sha"], "parents": [head]},
        201,
    )
    s.call(
        f"POST {r}/git/commits",
        f"{repo}/git/commits",
        {"message": "m", "tree": new_tree["sha"], "parents": ["4" * 40]},
        422,
    )
    ref_body = {"ref": "refs/heads/fix", "sha": commit["sha"]}
    s.call(f"POST {r}/git/refs", f"{repo}/git/refs", ref_body, 201)
    s.call(f"POST {r}/git/refs", f"{repo}/git/refs", ref_body, 422)
    s.call(f"GET {r}/git/ref/{{ref}}", f"{repo}/git/ref/heads/fix")
    s.call(f"GET {r}/git/ref/{{ref}}", f"{repo}/git/ref/heads/none", expect=404)
    s.call(f"GET {r}/git/matching-refs/{{ref}}", f"{repo}/git/matching-refs/heads/")
    s.call(f"PATCH {r}/git/refs/{{ref}}", f"{repo}/git/refs/heads/fix", {"sha": head}, 422)
    s.call(f"PATCH {r}/git/refs/{{ref}}", f"{repo}/git/refs/heads/fix", {"sha": commit["sha"]})
    s.call(f"GET {r}/compare/{{basehead}}", f"{repo}/compare/main...fix")
    s.call(f"GET {r}/compare/{{basehead}}", f"{repo}/compare/main...none", expect=404)
    pull_body = {"title": "Fix", "head": "fix", "base": "main", "body": "b"}
    pull = s.call(f"POST {r}/pulls", f"{repo}/pulls", pull_body, 201)
    s.call(f"POST {r}/pulls", f"{repo}/pulls", pull_body, 422)
    n = pull["number"]
    s.call(f"GET {r}/pulls", f"{repo}/pulls?state=all")
    s.call(f"GET {r}/pulls", f"{repo}/pulls?state=bogus", expect=422)
    s.call(f"GET {r}/pulls/{{pull_number}}", f"{repo}/pulls/{n}")
    s.call(f"GET {r}/pulls/{{pull_number}}", f"{repo}/pulls/999", expect=404)
    s.call(f"PATCH {r}/pulls/{{pull_number}}", f"{repo}/pulls/{n}", {"title": "Fix 2"})
    s.call(f"PATCH {r}/pulls/{{pull_number}}", f"{repo}/pulls/{n}", {"state": "bogus"}, 422)
    s.call(
        f"POST {r}/pulls/{{pull_number}}/requested_reviewers",
        f"{repo}/pulls/{n}/requested_reviewers",
        {"reviewers": ["alice"]},
        201,
    )
    s.call(
        f"POST {r}/issues/{{issue_number}}/labels",
        f"{repo}/issues/{n}/labels",
        {"labels": ["pullpolicy"]},
    )
    s.call(f"POST {r}/issues/{{issue_number}}/labels", f"{repo}/issues/999/labels", ["x"], 404)
    s.call(
        f"POST {r}/issues/{{issue_number}}/assignees",
        f"{repo}/issues/{n}/assignees",
        {"assignees": ["bob"]},
        201,
    )
    comments = f"{r}/issues/{{issue_number}}/comments"
    s.call(f"POST {comments}", f"{repo}/issues/{n}/comments", {"body": "hi"}, 201)
    s.call(f"POST {comments}", f"{repo}/issues/999/comments", {"body": "hi"}, 404)
    s.call(f"GET {comments}", f"{repo}/issues/{n}/comments")
    s.call(f"GET {comments}", f"{repo}/issues/999/comments", expect=404)
    person = forge.open_pull(REPO, "feature", {"k8s/new.yaml": "a: 1\nb: 2\n"})
    pulls = f"{r}/pulls/{{pull_number}}"
    s.call(f"GET {pulls}/files", f"{repo}/pulls/{person}/files")
    placed = {"path": "k8s/new.yaml", "body": "x", "start_line": 1, "line": 2, "side": "RIGHT"}
    review = {"event": "COMMENT", "body": "b", "comments": [placed]}
    s.call(f"POST {pulls}/reviews", f"{repo}/pulls/{person}/reviews", review)
    outside = {"event": "COMMENT", "body": "b", "comments": [dict(placed, line=9)]}
    s.call(f"POST {pulls}/reviews", f"{repo}/pulls/{person}/reviews", outside, 422)
    blocking = s.call(
        f"POST {pulls}/reviews",
        f"{repo}/pulls/{person}/reviews",
        {"event": "REQUEST_CHANGES", "body": "b"},
    )
    dismissals = f"{pulls}/reviews/{{review_id}}/dismissals"
    dismiss = {"message": "m", "event": "DISMISS"}
    s.call(
        f"PUT {dismissals}", f"{repo}/pulls/{person}/reviews/{blocking['id']}/dismissals", dismiss
    )
    commented = s.call(f"GET {pulls}/reviews", f"{repo}/pulls/{person}/reviews")[0]
    assert commented["state"] == "COMMENTED"
    s.call(
        f"PUT {dismissals}",
        f"{repo}/pulls/{person}/reviews/{commented['id']}/dismissals",
        dismiss,
        422,
    )
    (thread,) = s.call(f"GET {pulls}/comments", f"{repo}/pulls/{person}/comments")
    replies = f"{pulls}/comments/{{comment_id}}/replies"
    reply = {"body": "fixed"}
    s.call(f"POST {replies}", f"{repo}/pulls/{person}/comments/{thread['id']}/replies", reply, 201)
    s.call(f"POST {replies}", f"{repo}/pulls/{person}/comments/1/replies", reply, 404)
    s.call(f"GET {pulls}/comments", f"{repo}/pulls/{person}/comments")
    s.call("GET /rate_limit", "/rate_limit")
    manifest: dict[str, Any] = {"name": "schema-app", "url": "https://example.com"}
    manifest.update(default_events=["push"], default_permissions={"contents": "write"})
    _, code = forge.create_manifest_app(manifest)
    conversion = "POST /app-manifests/{code}/conversions"
    unauthenticated = {"Accept": "application/vnd.github+json"}
    s.call(conversion, f"/app-manifests/{code}/conversions", expect=201, headers=unauthenticated)
    s.call(conversion, f"/app-manifests/{code}/conversions", expect=404, headers=unauthenticated)
    s.token = installation_token(forge)
    jwt_header = {"Authorization": f"Bearer {app_jwt()}"}
    s.call(f"GET {r}/installation", f"{repo}/installation", headers=jwt_header)
    s.call(
        "POST /app/installations/{installation_id}/access_tokens",
        f"/app/installations/{INSTALLATION_ID}/access_tokens",
        expect=201,
        headers=jwt_header,
    )
    annotation = {
        "path": "k8s/deploy.yaml",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "warning",
        "message": "imagePullPolicy is not Always",
    }
    run = s.call(
        f"POST {r}/check-runs",
        f"{repo}/check-runs",
        {
            "name": "pullpolicy",
            "head_sha": head,
            "status": "in_progress",
            "output": {"title": "t", "summary": "s", "annotations": [annotation]},
        },
        201,
    )
    s.call(
        f"PATCH {r}/check-runs/{{check_run_id}}",
        f"{repo}/check-runs/{run['id']}",
        {"conclusion": "neutral", "output": {"title": "t", "summary": "s", "text": "x"}},
    )
    return s


def test_every_response_matches_githubs_openapi_schema(fake_forge: FakeForge) -> None:
    scenario = drive_every_endpoint(fake_forge)
    failures = []
    for endpoint, status, result in scenario.results:
        schema = {"allOf": [SCHEMAS["endpoints"][endpoint][status]], **SCHEMAS}
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(result.json()):
            location = "/".join(str(p) for p in error.absolute_path)
            failures.append(f"{endpoint} -> {status} at {location}: {error.message[:200]}")
    assert failures == []
    exercised = {(endpoint, status) for endpoint, status, _ in scenario.results}
    vendored = {(e, s) for e, statuses in SCHEMAS["endpoints"].items() for s in statuses}
    assert vendored - exercised == set()


def test_a_broken_response_would_be_caught() -> None:
    """The validation is not vacuous: a repository without its owner fails the schema."""
    schema = {"allOf": [SCHEMAS["endpoints"]["GET /repos/{owner}/{repo}"]["200"]], **SCHEMAS}
    errors = list(jsonschema.Draft7Validator(schema).iter_errors({"id": 1, "name": "x"}))
    assert any("'owner' is a required property" in error.message for error in errors)
