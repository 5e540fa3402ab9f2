"""One branch's state in one GraphQL query: `repository { ref(qualifiedName:) { target { oid }
refUpdateRule rules } defaultBranchRef { target { oid } compare(headRef:) { commits } } }`.

What GitHub documents (https://docs.github.com/en/graphql/reference/objects#ref): `ref` is null
when the ref does not exist; `refUpdateRule` is the branch protection rule that applies to it,
as a non-admin sees it (null: none); `rules` lists the active rulesets' rules for it;
`Ref.compare(headRef:)` compares the ref as the base with another head ("if the comparison can
be made": null without a common ancestor), its `commits` being the head's commits that the base
does not reach, oldest first, `totalCount` all of them. No query parser: the query must pass
`$owner`, `$name`, `$ref` (the qualified name) and `$branch` (the compare's head).
"""

from __future__ import annotations

from typing import Any

from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import CommitInfo
from tests.fakeforge.web import ApiCall, Response, json_response

PAGE = 100  # the connection's largest page, and what the query asks for
FORBIDDEN = "Resource not accessible by integration"


def is_branch_state(query: str) -> bool:
    return "compare(headRef:" in query and "ref(qualifiedName:" in query


def branch_state(state: ForgeState, call: ApiCall, variables: Any) -> Response:
    variables = variables if isinstance(variables, dict) else {}
    full_name = f"{variables.get('owner')}/{variables.get('name')}"
    repo = state.repo(full_name)
    if repo is None or call.principal is None or not call.principal.can_see(full_name):
        message = f"Could not resolve to a Repository with the name '{full_name}'."
        errors = [{"type": "NOT_FOUND", "path": ["repository"], "message": message}]
        return json_response(200, {"data": {"repository": None}, "errors": errors})
    qualified, branch = variables.get("ref"), variables.get("branch")
    if not isinstance(qualified, str) or not isinstance(branch, str):
        return json_response(200, {"data": None, "errors": [{"message": "$ref, $branch needed"}]})
    name = qualified.removeprefix("refs/heads/")
    head = repo.branch_head(name)
    ref = None
    errors = []
    if head is not None:
        rule = {"pattern": name} if name in repo.protected else None
        rules: dict[str, int] | None = {"totalCount": int(name in repo.ruleset_protected)}
        if "rules" in state.github_graphql_forbidden:
            rules = None
            path = ["repository", "ref", "rules"]
            errors.append({"type": "FORBIDDEN", "path": path, "message": FORBIDDEN})
        ref = {"target": {"oid": head}, "refUpdateRule": rule, "rules": rules}
    base = repo.branch_head(repo.default_branch)
    default = None
    if base is not None:
        default = {"target": {"oid": base}, "compare": _compare(repo, base, branch)}
    body: dict[str, Any] = {"data": {"repository": {"ref": ref, "defaultBranchRef": default}}}
    if errors:  # GraphQL answers what it can and says what it could not
        body["errors"] = errors
    return json_response(200, body)


def _compare(repo: Repository, base: str, head_ref: str) -> dict[str, Any] | None:
    head = repo.bare.resolve_commit(head_ref)
    if head is None or repo.bare.merge_base(base, head) is None:
        return None
    ahead = list(reversed(repo.bare.rev_list(head, exclude=base)))
    nodes = [_commit(info) for sha in ahead[:PAGE] if (info := repo.bare.commit_info(sha))]
    return {"commits": {"totalCount": len(ahead), "nodes": nodes}}


def _commit(info: CommitInfo) -> dict[str, Any]:
    return {
        "oid": info.sha,
        "message": info.message,
        "parents": {"nodes": [{"oid": parent} for parent in info.parents]},
        "author": {"name": info.author.name, "email": info.author.email},
    }
