"""GitHub GraphQL: the repository overview query, and documents that create a branch, write a
commit on it and may open a pull request (`updateRefs`, `createCommitOnBranch`,
`createPullRequest`, each when the document names it, run one after another as GraphQL runs
top-level mutation fields).

No query parser, like the rest of the fake's GraphQL: the overview must read
`repository(owner: $owner, name: $name)` and name `defaultBranchRef`, and answers
`pullRequests(headRefName: $branch)`, `ref(qualifiedName: $ref)` and the default branch's
`compare(headRef: $branch)` when it names them too (github_graphql_branches.py); the write
document takes its inputs as the variables `refUpdates` (with `repositoryId`), `commit` and
`pull`.

As on GitHub (https://docs.github.com/en/graphql/reference/mutations#createcommitonbranch):
the commit needs the branch to exist and to be at `expectedHeadOid`; every file it adds gets
mode 100644, whatever mode the path had; its author is the caller (an App's bot user). A field
that fails answers null with an error naming its `path`; the fields after it still run.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from tests.fakeforge import github_graphql_branches as branches
from tests.fakeforge.github_common import caller_login, view
from tests.fakeforge.github_views import node_id
from tests.fakeforge.records import ChangeRequest
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import BLOB_MODE, RefUpdateRejected, Signature, TreeEdit
from tests.fakeforge.web import ApiCall, Response, json_response

Refused = str  # why a field answered null


def is_overview(query: str) -> bool:
    return "defaultBranchRef" in query and "repository(" in query


def is_open_pull_request(query: str) -> bool:
    return "createCommitOnBranch" in query


def overview(state: ForgeState, call: ApiCall, query: str, variables: Any) -> Response:
    variables = variables if isinstance(variables, dict) else {}
    full_name = f"{variables.get('owner')}/{variables.get('name')}"
    repo = state.repo(full_name)
    if repo is None or call.principal is None or not call.principal.can_see(full_name):
        message = f"Could not resolve to a Repository with the name '{full_name}'."
        missing = [{"type": "NOT_FOUND", "path": ["repository"], "message": message}]
        return json_response(200, {"data": {"repository": None}, "errors": missing})
    head = repo.branch_head(repo.default_branch)
    default: dict[str, Any] | None = None
    errors: branches.Errors = []
    if head is not None:
        tree = repo.bare.resolve_tree(head)
        target = {"oid": head, "tree": {"oid": tree}}
        default = {"name": repo.default_branch, "target": target}
    answer: dict[str, Any] = {"id": node_id("Repository", repo.github_id)}
    for name, needs in (("branch", "pullRequests("), ("ref", "ref(qualifiedName:")):
        if needs in query and not isinstance(variables.get(name), str):
            return json_response(200, {"data": None, "errors": [{"message": f"${name} needed"}]})
    if default is not None and branches.asks_for_compare(query):
        default["compare"] = branches.compare(repo, str(head), variables["branch"])
    answer["defaultBranchRef"] = default
    if "pullRequests(" in query:
        answer["pullRequests"] = {"nodes": _pulls(call, repo, variables["branch"])}
    if branches.asks_for_ref(query):
        answer["ref"] = branches.ref(state, repo, variables["ref"], errors)
    body: dict[str, Any] = {"data": {"repository": answer}}
    if errors:
        body["errors"] = errors
    return json_response(200, body)


def _pulls(call: ApiCall, repo: Repository, branch: str) -> list[dict[str, Any]]:
    """`pullRequests(headRefName:, first: 100, orderBy: CREATED_AT DESC)`: every state, forks'
    same-named branches included (`isCrossRepository` tells them apart)."""
    changes = [c for c in repo.records.change_requests.values() if c.source_branch == branch]
    changes.sort(key=lambda change: change.number, reverse=True)
    return [
        {
            "number": change.number,
            "url": f"{view(call).repo_html(repo)}/pull/{change.number}",
            "state": "MERGED" if change.merged else change.state.upper(),
            "title": change.title,
            "body": change.body,
            "headRefName": change.source_branch,
            "baseRefName": change.target_branch,
            "headRefOid": repo.live_head(change),
            "isDraft": change.draft,
            "isCrossRepository": change.head_repo is not None,
            "labels": {"nodes": [{"name": label} for label in change.labels]},
        }
        for change in changes[:100]
    ]


def open_pull_request(
    state: ForgeState,
    call: ApiCall,
    repo: Repository,
    query: str,
    variables: dict[str, Any],
    update_refs: Callable[[], Refused | None] | None,
) -> Response:
    """Run the document's fields in order; `update_refs` applies its `updateRefs` (None: the
    document has none)."""
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []

    def field(name: str, run: Callable[[], tuple[Any, Refused | None]]) -> None:
        value, refused = run()
        data[name] = value
        if refused is not None:
            errors.append({"type": "UNPROCESSABLE", "path": [name], "message": refused})

    if update_refs is not None:
        field("updateRefs", lambda: _answer(update_refs(), {"clientMutationId": None}))
    field("createCommitOnBranch", lambda: _commit(state, call, repo, variables.get("commit")))
    if "createPullRequest" in query:
        field("createPullRequest", lambda: _pull(state, call, repo, variables.get("pull")))
    body: dict[str, Any] = {"data": data}
    if errors:
        body["errors"] = errors
    return json_response(200, body)


def _answer(refused: Refused | None, value: Any) -> tuple[Any, Refused | None]:
    return (None, refused) if refused is not None else (value, None)


def _commit(
    state: ForgeState, call: ApiCall, repo: Repository, given: Any
) -> tuple[Any, Refused | None]:
    if not isinstance(given, dict) or not isinstance(given.get("branch"), dict):
        return None, "createCommitOnBranch needs an input with a branch"
    branch = given["branch"]
    if branch.get("repositoryNameWithOwner") != repo.full_name:
        return None, "the branch must name this repository"
    name = str(branch.get("branchName", ""))
    head = repo.branch_head(name)
    if head is None:
        return None, f"A ref named refs/heads/{name} could not be found"
    if given.get("expectedHeadOid") != head:
        expected = given.get("expectedHeadOid")
        return None, f'Expected branch to point to "{expected}" but it did not'
    changes = given.get("fileChanges") or {}
    edits: list[TreeEdit] = []
    for addition in changes.get("additions") or []:
        try:
            content = base64.b64decode(str(addition["contents"]), validate=True)
        except (KeyError, binascii.Error):
            return None, "additions need base64 contents"
        edits.append(TreeEdit(str(addition["path"]), BLOB_MODE, repo.bare.write_blob(content)))
    for deletion in changes.get("deletions") or []:
        if repo.bare.entry(head, str(deletion.get("path"))) is None:
            return None, f"A path was requested for deletion which does not exist: {deletion}"
        edits.append(TreeEdit(str(deletion["path"]), BLOB_MODE, None))
    message = given.get("message") or {}
    headline, text = str(message.get("headline") or ""), str(message.get("body") or "")
    if not headline:
        return None, "a commit needs a headline"
    login = caller_login(state, call)
    author = Signature.now(login, f"{state.user_id(login)}+{login}@users.noreply.github.com")
    full_message = f"{headline}\n\n{text}" if text else headline
    sha = repo.commit(head, edits, full_message, author)
    try:
        repo.bare.update_ref(f"refs/heads/{name}", sha, head)
    except RefUpdateRejected:
        return None, f"refs/heads/{name} moved while committing"
    return {"commit": {"oid": sha}}, None


def _pull(
    state: ForgeState, call: ApiCall, repo: Repository, given: Any
) -> tuple[Any, Refused | None]:
    if not isinstance(given, dict):
        return None, "createPullRequest needs an input"
    if given.get("repositoryId") != node_id("Repository", repo.github_id):
        return None, "Could not resolve to a node with the global id"
    title, head, base = given.get("title"), given.get("headRefName"), given.get("baseRefName")
    if not isinstance(title, str) or not title:
        return None, "Title can't be blank"
    base_sha = repo.branch_head(str(base))
    head_sha = repo.branch_head(str(head))
    if base_sha is None or head_sha is None or not isinstance(base, str):
        return None, "Head sha can't be blank, Base sha can't be blank"
    head = str(head)
    if repo.records.open_change_request(head, base) is not None:
        return None, f"A pull request already exists for {repo.owner}:{head}."
    if not repo.bare.rev_list(head_sha, exclude=base_sha):
        return None, f"No commits between {base} and {head}"
    change = ChangeRequest(
        id=state.ids.next(),
        number=repo.records.next_number(),
        title=title,
        body=str(given.get("body") or ""),
        source_branch=head,
        target_branch=base,
        author=caller_login(state, call),
        head_sha=head_sha,
        base_sha=base_sha,
        draft=given.get("draft") is True,
    )
    repo.records.change_requests[change.number] = change
    pull = {
        "number": change.number,
        "url": f"{view(call).repo_html(repo)}/pull/{change.number}",
        "state": "OPEN",
        "title": change.title,
        "body": change.body,
        "headRefName": head,
        "baseRefName": base,
        "headRefOid": head_sha,
        "isDraft": change.draft,
    }
    return {"pullRequest": pull}, None
