"""A project's default branch, its head and the merge requests from one branch in one GitLab
GraphQL query, where REST needs two or three requests (project, branch, merge request list).

    project(fullPath:) {
      repository { rootRef commit(ref: "HEAD") { sha } }
      mergeRequests(sourceBranches:, first: 8) { ... }
    }

`Repository.commit(ref:)` came with GitLab 17.10 (gitlab-org/gitlab!179542); an older instance
refuses the whole query ("Field 'commit' doesn't exist on type 'Repository'"): `Unsupported`,
and the adapter goes back to REST. `HEAD` is the ref GitLab keeps on the default branch (the one
`rootRef` names). Fields: https://docs.gitlab.com/api/graphql/reference/#repository,
#projectmergerequests, #mergerequest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workers.forge import gitlab_mrs
from workers.forge.base import ChangeRequest

# GitLab refuses a query whose complexity passes 250 (https://docs.gitlab.com/api/graphql/#limits);
# graphql-ruby counts a connection's selections once per item of its page, so the pages are
# small: about 12 + 8 x (16 merge request fields + 8 labels) = 204. More on either page (rare on
# the bot's own branch) and the merge requests come by REST, as they did before.
REQUESTS_PAGE = 8
LABELS_PAGE = 8
# graphql-ruby's words for what this instance will refuse every time: a field or argument its
# schema does not have, a query over its complexity or depth limits.
_FOR_GOOD = re.compile(
    r"doesn't exist on type|doesn't accept argument|exceeds max (complexity|depth)"
)
_REPOSITORY = 'repository { rootRef commit(ref: "HEAD") { sha } }'
QUERY = f"""
query($project: ID!) {{
  project(fullPath: $project) {{
    {_REPOSITORY}
  }}
}}
"""
# The same with the merge requests from one branch, in any state (the REST list's
# `source_branch=`, `state=all`); their labels' names as the REST list gives them.
QUERY_WITH_REQUESTS = f"""
query($project: ID!, $branches: [String!]) {{
  project(fullPath: $project) {{
    {_REPOSITORY}
    mergeRequests(sourceBranches: $branches, first: {REQUESTS_PAGE}) {{
      pageInfo {{ hasNextPage }}
      nodes {{
        iid webUrl state title description sourceBranch targetBranch diffHeadSha draft
        sourceProjectId targetProjectId
        labels(first: {LABELS_PAGE}) {{ pageInfo {{ hasNextPage }} nodes {{ title }} }}
      }}
    }}
  }}
}}
"""


class Unsupported(Exception):
    """GraphQL refused the query. `lacking`: for good (a field or argument the instance does
    not know, older than 17.10; a limit the query passes); else for now (a resolver failed)."""

    def __init__(self, message: str, *, lacking: bool) -> None:
        super().__init__(message)
        self.lacking = lacking


@dataclass(frozen=True)
class Overview:
    default_branch: str | None  # None: an empty repository
    head: str | None  # None: the default branch has no commit
    # From the branch asked for, newest first; None when not asked or not all on one page.
    requests: tuple[ChangeRequest, ...] | None = None


def variables(full_name: str, requests_from: str | None) -> dict[str, Any]:
    if requests_from is None:
        return {"project": full_name}
    return {"project": full_name, "branches": [requests_from]}


def query(requests_from: str | None) -> str:
    return QUERY if requests_from is None else QUERY_WITH_REQUESTS


def parse(answer: Any) -> Overview | None:
    """The overview in `answer`; None when the project is not there (or not visible), which
    REST then names exactly. Unsupported when GraphQL refused the query."""
    if not isinstance(answer, dict) or answer.get("errors") or not answer.get("data"):
        message = _messages(answer)
        raise Unsupported(message, lacking=_FOR_GOOD.search(message) is not None)
    project = answer["data"].get("project")
    if not isinstance(project, dict):
        return None
    repository = project.get("repository") or {}
    commit = repository.get("commit") or {}
    root_ref, head = repository.get("rootRef"), commit.get("sha")
    return Overview(
        default_branch=None if root_ref is None else str(root_ref),
        head=None if head is None else str(head),
        requests=_requests(project["mergeRequests"]) if "mergeRequests" in project else None,
    )


def _requests(connection: Any) -> tuple[ChangeRequest, ...] | None:
    """Merge requests from this project's branch, newest first, as the REST list gives them;
    None unless every one (and every label) came on this page."""
    if not isinstance(connection, dict) or _more(connection):
        return None
    found = []
    for node in connection.get("nodes") or []:
        labels = node.get("labels") or {}
        if _more(labels):
            return None
        request = _as_rest(node)
        if not gitlab_mrs.from_fork(request):
            found.append(gitlab_mrs.merge_request(request))
    return tuple(sorted(found, key=lambda request: -request.number))


def _more(connection: dict[str, Any]) -> bool:
    return bool((connection.get("pageInfo") or {}).get("hasNextPage"))


def _as_rest(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL merge request in the REST list's field names (one normalisation for both)."""
    labels = (node.get("labels") or {}).get("nodes") or []
    return {
        "iid": int(node["iid"]),  # a String in GraphQL
        "web_url": node.get("webUrl"),
        "state": node["state"],
        "title": node.get("title"),
        "description": node.get("description"),
        "source_branch": node["sourceBranch"],
        "target_branch": node["targetBranch"],
        "sha": node.get("diffHeadSha"),
        "draft": bool(node.get("draft")),
        "labels": [label["title"] for label in labels],
        "source_project_id": node.get("sourceProjectId"),
        "target_project_id": node.get("targetProjectId"),
    }


def refused_for_good(answer: Any) -> bool:
    """Whether the answer refuses what this instance will refuse every time it is asked."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return bool(errors) and _FOR_GOOD.search(_messages(answer)) is not None


def _messages(answer: Any) -> str:
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not isinstance(errors, list):
        return "no data"
    return "; ".join(str(error.get("message", error)) for error in errors if error) or "no data"
