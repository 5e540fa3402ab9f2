"""GitHub's GraphQL endpoint (`/api/graphql`, as on GitHub Enterprise), for one mutation,
`updateRefs` (GitHub's compare-and-swap on refs), many files' contents by `object(expression:)`
(github_graphql_blobs.py), and the repository overview (with a branch's state:
github_graphql_branches.py) and the branch + commit + pull request document
(github_graphql_writes.py). No query
parser: the mutation's document must name `updateRefs` and pass its input as the variables
`repositoryId` and `refUpdates`.

https://docs.github.com/en/graphql/reference/mutations#updaterefs — every update names the
value the ref must hold (`beforeOid`, zeros: must not exist) and the one it gets (`afterOid`,
zeros: delete); all or none are applied. Refusals come back as HTTP 200 with `errors`.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakeforge.github_common import json_object
from tests.fakeforge.github_graphql_blobs import blob_query, is_blob_query
from tests.fakeforge.github_graphql_writes import (
    is_open_pull_request,
    is_overview,
    open_pull_request,
    overview,
)
from tests.fakeforge.github_views import node_id
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import ZERO_SHA, RefUpdateRejected
from tests.fakeforge.web import ApiCall, Response, Route, json_response, route

Params = dict[str, str]


class GitHubGraphQlRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [route("POST", "graphql", self.graphql)]

    def graphql(self, call: ApiCall, params: Params) -> Response:
        body = json_object(call)
        query, variables = body.get("query"), body.get("variables") or {}
        for field in sorted(self.state.github_graphql_lacks):
            if isinstance(query, str) and re.search(rf"\b{field}\s*[({{]", query):
                return _undefined_field(field)
        if isinstance(query, str) and is_overview(query):
            return overview(self.state, call, query, variables)
        if isinstance(query, str) and is_blob_query(query):
            return blob_query(self.state, call, query, variables)
        if isinstance(query, str) and is_open_pull_request(query):
            return self._open_pull_request(call, query, variables)
        if not isinstance(query, str) or "updateRefs" not in query:
            return _errors(
                "the fake forge serves only updateRefs, createCommitOnBranch with "
                "createPullRequest, the repository overview and object(expression:) reads"
            )
        if "update-refs-preview" not in call.request.headers.get("accept", ""):
            # As GitHub answers a query using a preview's field without its media type.
            return _errors("Field 'updateRefs' doesn't exist on type 'Mutation'")
        repo = self._repository(call, variables.get("repositoryId"))
        if repo is None:
            return _errors("Could not resolve to a node with the global id", kind="NOT_FOUND")
        refused = self._update_refs(repo, variables.get("refUpdates"))
        if refused is not None:
            return _errors(refused)
        return json_response(200, {"data": {"updateRefs": {"clientMutationId": None}}})

    def _open_pull_request(self, call: ApiCall, query: str, variables: Any) -> Response:
        if not isinstance(variables, dict):
            return _errors("the document needs its variables")
        if "updateRefs" in query and "update-refs-preview" not in call.request.headers.get(
            "accept", ""
        ):
            return _errors("Field 'updateRefs' doesn't exist on type 'Mutation'")
        repo = self._repository(call, variables.get("repositoryId"))
        if repo is None:
            return _errors("Could not resolve to a node with the global id", kind="NOT_FOUND")
        refs = variables.get("refUpdates")
        update_refs = (lambda: self._update_refs(repo, refs)) if "updateRefs" in query else None
        return open_pull_request(self.state, call, repo, query, variables, update_refs)

    def _update_refs(self, repo: Repository, updates: Any) -> str | None:
        """Apply every update or none; the reason when refused."""
        if not isinstance(updates, list) or not updates:
            return "refUpdates must be a non-empty list"
        applied: list[tuple[str, str | None]] = []  # (ref, its value before) to roll back
        for update in updates:
            refused = self._apply(repo, update, applied)
            if refused is not None:
                for name, before in reversed(applied):  # atomically: all or none
                    _restore(repo, name, before)
                return refused
        return None

    def _repository(self, call: ApiCall, global_id: object) -> Repository | None:
        for repository in self.state.repos.values():
            if node_id("Repository", repository.github_id) == global_id:
                visible = call.principal is not None and call.principal.can_see(
                    repository.full_name
                )
                return repository if visible else None
        return None

    def _apply(
        self, repo: Repository, update: Any, applied: list[tuple[str, str | None]]
    ) -> str | None:
        """Apply one update; the reason when it is refused."""
        if not isinstance(update, dict) or not str(update.get("name", "")).startswith("refs/"):
            return "each ref update needs a full ref name"
        name, after = str(update["name"]), str(update.get("afterOid", ""))
        before = update.get("beforeOid")
        current = repo.bare.ref(name)
        if before is not None and (current or ZERO_SHA) != before:
            return f"{name} is at {current or 'nothing'}, not at {before}"
        if after != ZERO_SHA and repo.bare.object_type(after) != "commit":
            return f"{after} is not a commit"
        forward = current is None or repo.bare.merge_base(current, after) == current
        if after != ZERO_SHA and not forward and not update.get("force"):
            return f"{name}: not a fast-forward"
        try:
            if after == ZERO_SHA:
                if current is not None:
                    repo.bare.delete_ref(name, current)
            else:
                repo.bare.update_ref(name, after, current)
        except RefUpdateRejected:
            return f"{name} moved while updating"
        applied.append((name, current))
        return None


def _restore(repo: Repository, name: str, before: str | None) -> None:
    current = repo.bare.ref(name)
    if before is None:
        if current is not None:
            repo.bare.delete_ref(name, current)
    else:
        repo.bare.update_ref(name, before, current)


def _undefined_field(field: str) -> Response:
    """As GitHub answers a document naming a field its schema does not have."""
    error = {
        "message": f"Field '{field}' doesn't exist on type 'Ref'",
        "extensions": {"code": "undefinedField", "typeName": "Ref", "fieldName": field},
    }
    return json_response(200, {"errors": [error]})


def _errors(message: str, kind: str = "UNPROCESSABLE") -> Response:
    return json_response(200, {"data": None, "errors": [{"type": kind, "message": message}]})
