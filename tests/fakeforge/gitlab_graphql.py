"""GitLab's GraphQL endpoint (`/gitlab/api/graphql`, python-gitlab url + `/api/graphql`), for the
query shapes the adapter sends, all under `project(fullPath: $var)`:

- files by `repository { blobs(ref: $ref, paths: $paths ...) }`; each node answers `path`,
  `oid`, `rawTextBlob` (null for a binary file: a NUL in the first 8,000 bytes; bytes that are
  not UTF-8 replaced, so the text no longer matches `rawSize`) and `rawSize`, the ones the
  query names (https://docs.gitlab.com/api/graphql/reference/#repositoryblob). A path that
  names no file is left out, as GitLab does.
- the overview: `repository { rootRef commit(ref: "HEAD" or $var) { sha } }` and
  `mergeRequests(sourceBranches: $var, first: N)` (see gitlab_graphql_overview).

No query parser: fields are found by name. An unknown or unseen project answers
`project: null`. `ForgeState.gitlab_before_17_10` plays an instance older than 17.10, which has
no `Repository.commit` (gitlab-org/gitlab!179542) and refuses any query naming it, as
graphql-ruby's validation does: `errors`, no `data`.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakeforge.gitlab_common import view
from tests.fakeforge.gitlab_graphql_overview import merge_requests, repository_fields
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.web import ApiCall, Response, Route, json_response, route

PROJECT = re.compile(r"project\(\s*fullPath:\s*\$(\w+)\s*\)")
BLOBS = re.compile(r"blobs\(\s*ref:\s*\$(\w+)\s*,\s*paths:\s*\$(\w+)")
COMMIT = re.compile(r"\bcommit\(")
FIELDS = ("path", "oid", "rawTextBlob", "rawSize")
BINARY_PROBE = 8000
PAGE = 100  # a connection's largest page


class GitLabGraphQlRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [route("POST", "graphql", self.graphql)]

    def graphql(self, call: ApiCall, params: dict[str, str]) -> Response:
        try:
            body = call.request.json()
        except ValueError:
            return _errors("the body must be JSON")
        query = body.get("query") if isinstance(body, dict) else None
        variables = (body.get("variables") or {}) if isinstance(body, dict) else {}
        project = PROJECT.search(str(query))
        if not isinstance(query, str) or project is None:
            return _errors("the fake forge serves only project(fullPath: $var) { ... } reads")
        if self.state.gitlab_before_17_10 and COMMIT.search(query):
            return _undefined_field("commit", "Repository")
        repo = self.state.repo(str(variables.get(project.group(1))))
        if repo is None or call.principal is None or not call.principal.can_see(repo.full_name):
            return json_response(200, {"data": {"project": None}})
        answer: dict[str, Any] = {}
        repository = repository_fields(repo, query, variables)
        blobs = BLOBS.search(query)
        if blobs is not None:
            ref, paths = variables.get(blobs.group(1)), variables.get(blobs.group(2))
            if not isinstance(ref, str) or not isinstance(paths, list):
                return _errors("blobs needs its ref and paths variables")
            repository["blobs"] = {"nodes": self._blobs(repo, query, ref, paths)}
        if repository:
            answer["repository"] = repository
        if "mergeRequests(" in query:
            answer["mergeRequests"] = merge_requests(
                repo, query, variables, view(call), self.state.page_size_cap
            )
        return json_response(200, {"data": {"project": answer}})

    def _blobs(
        self, repo: Repository, query: str, ref: str, paths: list[Any]
    ) -> list[dict[str, Any]]:
        specs = [f"{ref}:{path}" for path in paths[:PAGE]]
        self.state.graphql_reads.extend(specs)
        objects = repo.bare.batch(specs)
        fields = [field for field in FIELDS if re.search(rf"\b{field}\b", query)]
        nodes = []
        for path, spec in zip(paths, specs, strict=False):
            found = objects.get(spec)
            if found is None or found[1] != "blob":
                continue
            node = _blob(str(path), found[0], found[2])
            nodes.append({field: node[field] for field in fields})
        return nodes


def _blob(path: str, oid: str, content: bytes) -> dict[str, Any]:
    binary = b"\0" in content[:BINARY_PROBE]
    text = None if binary else content.decode("utf-8", errors="replace")
    return {"path": path, "oid": oid, "rawTextBlob": text, "rawSize": len(content)}


def _errors(message: str) -> Response:
    return json_response(200, {"data": None, "errors": [{"message": message}]})


def _undefined_field(field: str, type_name: str) -> Response:
    """graphql-ruby's static validation: the whole query is refused, nothing runs."""
    error = {
        "message": f"Field '{field}' doesn't exist on type '{type_name}'",
        "extensions": {"code": "undefinedField", "typeName": type_name, "fieldName": field},
    }
    return json_response(200, {"errors": [error]})
