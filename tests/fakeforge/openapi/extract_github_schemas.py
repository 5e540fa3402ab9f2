"""Vendor the response schemas of the GitHub endpoints the fake forge serves.

Source: GitHub's official OpenAPI description as shipped in the npm package @octokit/openapi
(MIT, see LICENSE.octokit-openapi). To refresh:

    cd "$(mktemp -d)" && npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
    python tests/fakeforge/openapi/extract_github_schemas.py \
        package/generated/api.github.com.json package/package.json

It writes github_schemas.json next to this file: per endpoint and status, the JSON response
schema, plus the transitive closure of the component schemas they reference. OpenAPI 3.0's
`nullable` is rewritten into JSON Schema, and prose (description/examples) is dropped to keep
the file small.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("github_schemas.json")

# (method, OpenAPI path template, statuses whose response bodies we validate)
ENDPOINTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("get", "/repos/{owner}/{repo}", ("200", "404")),
    ("get", "/repos/{owner}/{repo}/installation", ("200",)),
    ("post", "/app/installations/{installation_id}/access_tokens", ("201",)),
    ("post", "/app-manifests/{code}/conversions", ("201", "404")),
    ("get", "/repos/{owner}/{repo}/branches/{branch}", ("200", "404")),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}", ("200", "404")),
    ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}", ("200",)),
    ("post", "/repos/{owner}/{repo}/git/refs", ("201", "422")),
    ("patch", "/repos/{owner}/{repo}/git/refs/{ref}", ("200", "422")),
    ("get", "/repos/{owner}/{repo}/git/trees/{tree_sha}", ("200", "404")),
    ("post", "/repos/{owner}/{repo}/git/trees", ("201", "422")),
    ("get", "/repos/{owner}/{repo}/git/blobs/{file_sha}", ("200", "404")),
    ("post", "/repos/{owner}/{repo}/git/blobs", ("201",)),
    ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}", ("200", "404")),
    ("post", "/repos/{owner}/{repo}/git/commits", ("201", "422")),
    ("get", "/repos/{owner}/{repo}/commits", ("200",)),
    ("get", "/repos/{owner}/{repo}/commits/{ref}", ("200", "422")),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}", ("200", "404")),
    ("get", "/repos/{owner}/{repo}/contents/{path}", ("200", "404")),
    ("get", "/repos/{owner}/{repo}/pulls", ("200", "422")),
    ("post", "/repos/{owner}/{repo}/pulls", ("201", "422")),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}", ("200", "404")),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}", ("200", "422")),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", ("201",)),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels", ("200", "404")),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/assignees", ("201",)),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments", ("200", "404")),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments", ("201", "404")),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files", ("200",)),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/comments", ("200",)),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", ("200",)),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", ("200", "422")),
    (
        "put",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals",
        ("200", "422"),
    ),
    (
        "post",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
        ("201", "404"),
    ),
    ("post", "/repos/{owner}/{repo}/check-runs", ("201",)),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}", ("200",)),
    ("get", "/rate_limit", ("200",)),
]

_PROSE = {"description", "example", "examples", "summary", "title", "externalDocs"}
_REF_PREFIX = "#/components/schemas/"


def _json_schema_of(response: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response.get("content", {})
    media = content.get("application/json") or content.get("application/scim+json")
    return None if media is None else media.get("schema")


def _normalise(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema (draft 7): `nullable` becomes an explicit null."""
    if isinstance(node, list):
        return [_normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {key: _normalise(value) for key, value in node.items() if key not in _PROSE}
    if "properties" in node:  # property names such as "description" are data, not prose
        cleaned["properties"] = {k: _normalise(v) for k, v in node["properties"].items()}
    cleaned.pop("discriminator", None)
    if cleaned.pop("nullable", False):
        if isinstance(cleaned.get("type"), str):
            cleaned["type"] = [cleaned["type"], "null"]
            if "enum" in cleaned:
                cleaned["enum"] = [*cleaned["enum"], None]
        else:
            return {"anyOf": [cleaned, {"type": "null"}]}
    return cleaned


def _referenced(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            found.add(ref[len(_REF_PREFIX) :])
        for value in node.values():
            found |= _referenced(value)
        return found
    if isinstance(node, list):
        return set().union(*(_referenced(item) for item in node)) if node else set()
    return set()


def extract(spec: dict[str, Any], version: str) -> dict[str, Any]:
    endpoints: dict[str, dict[str, Any]] = {}
    for method, path, statuses in ENDPOINTS:
        responses = spec["paths"][path][method]["responses"]
        endpoints[f"{method.upper()} {path}"] = {
            status: _normalise(schema)
            for status in statuses
            if (schema := _json_schema_of(responses[status], spec)) is not None
        }
    all_schemas = spec["components"]["schemas"]
    needed: set[str] = set()
    frontier = _referenced(endpoints)
    while frontier:
        name = frontier.pop()
        if name not in needed:
            needed.add(name)
            frontier |= _referenced(all_schemas[name])
    return {
        "source": f"@octokit/openapi {version}, generated/api.github.com.json (MIT)",
        "endpoints": endpoints,
        "components": {"schemas": {n: _normalise(all_schemas[n]) for n in sorted(needed)}},
    }


def main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[1]).read_text())
    version = json.loads(Path(argv[2]).read_text())["version"] if len(argv) > 2 else "unknown"
    OUTPUT.write_text(json.dumps(extract(spec, version), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv)
