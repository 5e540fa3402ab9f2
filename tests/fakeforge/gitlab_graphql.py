"""GitLab's GraphQL endpoint (`/gitlab/api/graphql`, python-gitlab url + `/api/graphql`), for one
query shape: many files' contents by `project(fullPath:) { repository { blobs(ref:, paths:) } }`.

No query parser: the document must take the project as `project(fullPath: $var)` and the
files as `blobs(ref: $ref, paths: $paths ...)`, each a variable. Each node answers `path`,
`rawTextBlob` (null for a binary file: a NUL in the first 8,000 bytes; bytes that are not UTF-8
replaced, so the text no longer matches `rawSize`) and `rawSize`, the ones the query names
(https://docs.gitlab.com/api/graphql/reference/#repositoryblob). A path that names no file is
left out, as GitLab does; an unknown or unseen project answers `project: null`.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakeforge.state import ForgeState
from tests.fakeforge.web import ApiCall, Response, Route, json_response, route

PROJECT = re.compile(r"project\(\s*fullPath:\s*\$(\w+)\s*\)")
BLOBS = re.compile(r"blobs\(\s*ref:\s*\$(\w+)\s*,\s*paths:\s*\$(\w+)")
FIELDS = ("path", "rawTextBlob", "rawSize")
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
        project, blobs = PROJECT.search(str(query)), BLOBS.search(str(query))
        if not isinstance(query, str) or project is None or blobs is None:
            return _errors("the fake forge serves only project { repository { blobs } } reads")
        full_path = variables.get(project.group(1))
        ref, paths = variables.get(blobs.group(1)), variables.get(blobs.group(2))
        if not isinstance(ref, str) or not isinstance(paths, list):
            return _errors("blobs needs its ref and paths variables")
        repo = self.state.repo(str(full_path))
        if repo is None or call.principal is None or not call.principal.can_see(repo.full_name):
            return json_response(200, {"data": {"project": None}})
        specs = [f"{ref}:{path}" for path in paths[:PAGE]]
        self.state.graphql_reads.extend(specs)
        objects = repo.bare.batch(specs)
        fields = [field for field in FIELDS if re.search(rf"\b{field}\b", query)]
        nodes = []
        for path, spec in zip(paths, specs, strict=False):
            found = objects.get(spec)
            if found is None or found[1] != "blob":
                continue
            node = _blob(str(path), found[2])
            nodes.append({field: node[field] for field in fields})
        answer = {"project": {"repository": {"blobs": {"nodes": nodes}}}}
        return json_response(200, {"data": answer})


def _blob(path: str, content: bytes) -> dict[str, Any]:
    binary = b"\0" in content[:BINARY_PROBE]
    text = None if binary else content.decode("utf-8", errors="replace")
    return {"path": path, "rawTextBlob": text, "rawSize": len(content)}


def _errors(message: str) -> Response:
    return json_response(200, {"data": None, "errors": [{"message": message}]})
