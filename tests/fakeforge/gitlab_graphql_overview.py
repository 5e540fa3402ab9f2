"""The fields of GitLab's GraphQL project overview: `Repository.rootRef`,
`Repository.commit(ref:) { sha }` and `Project.mergeRequests(sourceBranches:, state:, first:)`.

As GitLab (https://docs.gitlab.com/api/graphql/reference/#repository, #projectmergerequests,
#mergerequest): `commit(ref:)` resolves a SHA, a branch or tag name, a full ref or `HEAD` (the
default branch) and is null when nothing matches; merge requests are the project's (targeting
it, a fork's included), newest first (`created_desc`), `iid` a String, `state` one of
opened/closed/merged, labels a connection of `Label { title }`. Only the fields the query names
are answered. `page_size_cap` shrinks pages as it does for REST, with `hasNextPage` set.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakeforge.gitlab_views import GitLabView, draft_title, mr_state, source_project_id
from tests.fakeforge.records import ChangeRequest
from tests.fakeforge.state import Repository

COMMIT = re.compile(r"\bcommit\(\s*ref:\s*(?:\"([^\"]*)\"|\$(\w+))\s*\)")
MERGE_REQUESTS = re.compile(r"mergeRequests\(([^)]*)\)")
ARGUMENT = re.compile(r"(\w+):\s*(?:\$(\w+)|(\w+)|\"([^\"]*)\")")
LABELS = re.compile(r"labels\(\s*first:\s*(\d+)\s*\)")
MR_FIELDS = (
    "iid",
    "webUrl",
    "state",
    "title",
    "description",
    "sourceBranch",
    "targetBranch",
    "diffHeadSha",
    "draft",
    "sourceProjectId",
    "targetProjectId",
)
PAGE = 100


def repository_fields(repo: Repository, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """`rootRef` and `commit(ref:) { sha }`, where the query names them."""
    fields: dict[str, Any] = {}
    if re.search(r"\brootRef\b", query):
        fields["rootRef"] = repo.default_branch
    commit = COMMIT.search(query)
    if commit is not None:
        ref = commit.group(1) if commit.group(1) is not None else variables.get(commit.group(2))
        ref = repo.default_branch if ref == "HEAD" else ref
        sha = repo.bare.resolve_commit(ref) if isinstance(ref, str) and ref else None
        fields["commit"] = None if sha is None else {"sha": sha}
    return fields


def merge_requests(
    repo: Repository,
    query: str,
    variables: dict[str, Any],
    gitlab: GitLabView,
    cap: int | None,
) -> dict[str, Any]:
    arguments = _arguments(query, variables)
    branches, state = arguments.get("sourceBranches"), arguments.get("state")
    first = min(int(arguments.get("first") or PAGE), PAGE, cap or PAGE)
    changes = sorted(
        (
            change
            for change in repo.records.change_requests.values()
            if (branches is None or change.source_branch in branches)
            and state in (None, "all", mr_state(change))
        ),
        key=lambda change: -change.number,
    )
    fields = [field for field in MR_FIELDS if re.search(rf"\b{field}\b", query)]
    labels = LABELS.search(query)
    nodes = []
    for change in changes[:first]:
        node = _node(repo, change, gitlab)
        answer = {field: node[field] for field in fields}
        if labels is not None:
            per_page = min(int(labels.group(1)), PAGE, cap or PAGE)
            answer["labels"] = {
                "pageInfo": {"hasNextPage": len(change.labels) > per_page},
                "nodes": [{"title": name} for name in change.labels[:per_page]],
            }
        nodes.append(answer)
    return {"pageInfo": {"hasNextPage": len(changes) > first}, "nodes": nodes}


def _arguments(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    found = MERGE_REQUESTS.search(query)
    arguments: dict[str, Any] = {}
    for name, variable, literal, text in ARGUMENT.findall(found.group(1) if found else ""):
        arguments[name] = variables.get(variable) if variable else literal or text
    return arguments


def _node(repo: Repository, change: ChangeRequest, gitlab: GitLabView) -> dict[str, Any]:
    return {
        "iid": str(change.number),
        "webUrl": f"{gitlab.web}/{repo.full_name}/-/merge_requests/{change.number}",
        "state": mr_state(change),
        "title": draft_title(change),
        "description": change.body,
        "sourceBranch": change.source_branch,
        "targetBranch": change.target_branch,
        "diffHeadSha": repo.live_head(change),
        "draft": change.draft,
        "sourceProjectId": source_project_id(repo, change),
        "targetProjectId": repo.project_id,
    }
