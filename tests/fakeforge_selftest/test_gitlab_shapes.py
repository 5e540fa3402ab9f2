"""Every GitLab endpoint the fake serves carries the fields GitLab documents (and clients read).

GitLab has no complete OpenAPI description for v4; tests/fakeforge/openapi/gitlab_fields.json
lists the documented response fields per shape, with the documentation page each comes from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import REPO, TOKEN, HttpResult, http, seeded

FIELDS = json.loads(
    (Path(__file__).parents[1] / "fakeforge" / "openapi" / "gitlab_fields.json").read_text()
)


def type_schema(expression: str) -> dict[str, Any]:
    nullable = expression.endswith("|null")
    base = expression.removesuffix("|null")
    schema: dict[str, Any]
    if base.startswith("[") and base.endswith("]"):
        schema = {"type": "array", "items": type_schema(base[1:-1])}
    elif base.startswith("@"):
        schema = {"$ref": f"#/definitions/{base[1:]}"}
    else:
        schema = {"type": base}
    return {"anyOf": [schema, {"type": "null"}]} if nullable else schema


def shape_fields(name: str) -> dict[str, str]:
    shape = FIELDS["shapes"][name]
    inherited = shape_fields(shape["extends"]) if "extends" in shape else {}
    return {**inherited, **shape["fields"]}


def definitions() -> dict[str, Any]:
    return {
        name: {
            "type": "object",
            "required": sorted(shape_fields(name)),
            "properties": {f: type_schema(t) for f, t in shape_fields(name).items()},
        }
        for name in FIELDS["shapes"]
    }


def validator_for(endpoint: str) -> jsonschema.Draft7Validator:
    schema = {**type_schema(FIELDS["endpoints"][endpoint]), "definitions": definitions()}
    return jsonschema.Draft7Validator(schema)


class Scenario:
    def __init__(self, forge: FakeForge) -> None:
        self.base = f"{forge.gitlab_url}/api/v4"
        self.results: list[tuple[str, HttpResult]] = []

    def call(self, endpoint: str, path: str, body: Any = None, expect: int = 200) -> Any:
        method = endpoint.split(" ", 1)[0]
        result = http(method, f"{self.base}{path}", gitlab_token=TOKEN, body=body)
        assert result.status == expect, (endpoint, result.status, result.body[:300])
        self.results.append((endpoint, result))
        return result.json()


def drive_every_endpoint(forge: FakeForge) -> Scenario:
    head = seeded(forge)
    s = Scenario(forge)
    project = "/projects/acme%2Fapp"
    p = "/projects/:id"
    s.call(f"GET {p}", project)
    s.call(f"GET {p}/repository/branches", f"{project}/repository/branches")
    s.call(f"GET {p}/repository/branches/:branch", f"{project}/repository/branches/main")
    s.call(
        f"POST {p}/repository/branches",
        f"{project}/repository/branches",
        {"branch": "copy", "ref": "main"},
        201,
    )
    tree = s.call(f"GET {p}/repository/tree", f"{project}/repository/tree?recursive=true")
    blob = next(entry["id"] for entry in tree if entry["type"] == "blob")
    s.call(f"GET {p}/repository/blobs/:sha", f"{project}/repository/blobs/{blob}")
    s.call(
        f"GET {p}/repository/files/:file_path",
        f"{project}/repository/files/k8s%2Fdeploy.yaml?ref=main",
    )
    s.call(f"GET {p}/repository/commits", f"{project}/repository/commits?ref_name=main")
    s.call(f"GET {p}/repository/commits/:sha", f"{project}/repository/commits/{head}")
    created = s.call(
        f"POST {p}/repository/commits",
        f"{project}/repository/commits",
        {
            "branch": "fix",
            "start_branch": "main",
            "commit_message": "Fix",
            "actions": [{"action": "update", "file_path": "k8s/deploy.yaml", "content": "x\n"}],
        },
        201,
    )
    s.call(f"GET {p}/repository/compare", f"{project}/repository/compare?from=main&to=fix")
    mrs = f"{p}/merge_requests"
    mr = s.call(
        f"POST {mrs}",
        f"{project}/merge_requests",
        {"source_branch": "fix", "target_branch": "main", "title": "Fix", "labels": "a"},
        201,
    )
    s.call(f"GET {mrs}", f"{project}/merge_requests?state=opened")
    s.call(f"GET {mrs}/:merge_request_iid", f"{project}/merge_requests/{mr['iid']}")
    s.call(
        f"PUT {mrs}/:merge_request_iid",
        f"{project}/merge_requests/{mr['iid']}",
        {"description": "d"},
    )
    notes = f"{mrs}/:merge_request_iid/notes"
    s.call(f"POST {notes}", f"{project}/merge_requests/{mr['iid']}/notes", {"body": "n"}, 201)
    s.call(f"GET {notes}", f"{project}/merge_requests/{mr['iid']}/notes")
    person = forge.open_pull(REPO, "feature", {"k8s/new.yaml": "a: 1\nb: 2\n"})
    one = f"{mrs}/:merge_request_iid"
    at = f"{project}/merge_requests/{person}"
    s.call(f"GET {one}/diffs", f"{at}/diffs")
    refs = s.call(f"GET {mrs}/:merge_request_iid", at)["diff_refs"]
    position = {"position_type": "text", "new_path": "k8s/new.yaml", "new_line": 2, **refs}
    discussion = s.call(
        f"POST {one}/discussions", f"{at}/discussions", {"body": "b", "position": position}, 201
    )
    threads = f"{one}/discussions/:discussion_id"
    s.call(
        f"POST {threads}/notes", f"{at}/discussions/{discussion['id']}/notes", {"body": "r"}, 201
    )
    s.call(f"PUT {threads}", f"{at}/discussions/{discussion['id']}?resolved=true", {})
    s.call(f"GET {one}/discussions", f"{at}/discussions")
    s.call(
        f"POST {p}/statuses/:sha",
        f"{project}/statuses/{created['id']}",
        {"state": "success", "name": "pullpolicy"},
        201,
    )
    s.call(
        f"GET {p}/repository/commits/:sha/statuses",
        f"{project}/repository/commits/{created['id']}/statuses",
    )
    s.call("GET /users", "/users?username=alice")
    s.call("GET /user", "/user")
    return s


def test_every_response_carries_the_documented_fields(fake_forge: FakeForge) -> None:
    scenario = drive_every_endpoint(fake_forge)
    failures = []
    for endpoint, result in scenario.results:
        for error in validator_for(endpoint).iter_errors(result.json()):
            location = "/".join(str(p) for p in error.absolute_path)
            failures.append(f"{endpoint} at {location}: {error.message[:200]}")
    assert failures == []
    assert {endpoint for endpoint, _ in scenario.results} == set(FIELDS["endpoints"])
    assert fake_forge.change_requests(REPO)[0].labels == ["a"]


def test_a_missing_documented_field_would_be_caught() -> None:
    errors = list(validator_for("GET /user").iter_errors({"id": 1, "username": "x"}))
    assert any("'web_url' is a required property" in error.message for error in errors)
