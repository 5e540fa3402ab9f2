"""A branch's state in the repository query: `ref(qualifiedName:) { target { oid }
refUpdateRule rules }` and `defaultBranchRef { compare(headRef:) { commits } }`.

What GitHub documents (https://docs.github.com/en/graphql/reference/objects#ref): `ref` is null
when the ref does not exist; `refUpdateRule` is the branch protection rule that applies to it,
as a non-admin sees it (null: none); `rules` lists the active rulesets' rules for it;
`Ref.compare(headRef:)` compares the ref as the base with another head ("if the comparison can
be made": null without a common ancestor), `baseTarget`/`headTarget` the two commits compared,
its `commits` the head's commits that the base does not reach, oldest first, `totalCount` all
of them. `headRef` resolves as git does (a tag before a branch of the same name). No query
parser: the query passes `$ref` (the qualified name) and `$branch` (the compare's head).
"""

from __future__ import annotations

from typing import Any

from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import CommitInfo

PAGE = 100  # the connection's largest page, and what the query asks for
FORBIDDEN = "Resource not accessible by integration"

Errors = list[dict[str, Any]]


def asks_for_ref(query: str) -> bool:
    return "ref(qualifiedName:" in query


def asks_for_compare(query: str) -> bool:
    return "compare(headRef:" in query


def ref(
    state: ForgeState, repo: Repository, qualified: str, errors: Errors
) -> dict[str, Any] | None:
    name = qualified.removeprefix("refs/heads/")
    head = repo.branch_head(name)
    if head is None:
        return None
    rule = {"pattern": name} if name in repo.protected else None
    rules: dict[str, int] | None = {"totalCount": int(name in repo.ruleset_protected)}
    if "rules" in state.github_graphql_forbidden:
        rules = None  # GraphQL answers what it can and says what it could not
        errors.append(
            {"type": "FORBIDDEN", "path": ["repository", "ref", "rules"], "message": FORBIDDEN}
        )
    return {"target": {"oid": head}, "refUpdateRule": rule, "rules": rules}


def compare(repo: Repository, base: str, head_ref: str) -> dict[str, Any] | None:
    head = repo.bare.resolve_commit(head_ref)
    if head is None or repo.bare.merge_base(base, head) is None:
        return None
    ahead = list(reversed(repo.bare.rev_list(head, exclude=base)))
    nodes = [_commit(info) for sha in ahead[:PAGE] if (info := repo.bare.commit_info(sha))]
    commits = {"totalCount": len(ahead), "nodes": nodes}
    return {"baseTarget": {"oid": base}, "headTarget": {"oid": head}, "commits": commits}


def _commit(info: CommitInfo) -> dict[str, Any]:
    return {
        "oid": info.sha,
        "message": info.message,
        "parents": {"nodes": [{"oid": parent} for parent in info.parents]},
        "author": {"name": info.author.name, "email": info.author.email},
    }
