"""GitHub GraphQL documents that replace several REST requests with one.

- `overview`: a repository's node id, default branch, head commit and its tree in one query,
  for the first contact with a repository (REST needs the repository, then the branch).
- `branch_state`: a branch's head, protection, and its commits since the default branch's head,
  where REST takes the branch, then the comparison.
- `create_branch_with_commit`: create the bot's branch and write its commit on it in one
  document. Top-level mutation fields run one after another
  (https://spec.graphql.org/October2021/#sec-Mutation): `updateRefs` creates the branch at the
  base (a compare-and-swap: it must not exist), then `createCommitOnBranch` writes the commit
  (https://docs.github.com/en/graphql/reference/mutations#createcommitonbranch — GitHub signs
  it: a verified commit authored by the App; it must find the branch at `expectedHeadOid`,
  the base). Three REST requests (tree, commit, ref) become one.

`createCommitOnBranch` writes every file it adds with mode 100644, so a change to a file of any
other mode (executable, symbolic link) is not written this way (see `writable_in_one`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workers.forge.base import (
    BranchExists,
    BranchState,
    ChangeRequest,
    ChangeRequestState,
    CommitInfo,
    FileChange,
    ForgeError,
)
from workers.forge.common import Listing, newest_first
from workers.forge.github_api import GitHubApi
from workers.forge.github_git import (
    INLINE_TREE_BYTES,
    REGULAR_FILE,
    UPDATE_REFS_PREVIEW,
    ZERO_SHA,
)

OVERVIEW = """
query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id
    defaultBranchRef { name target { oid ... on Commit { tree { oid } } } }
  }
}
"""
# The same, with the pull requests from one branch (the REST list's `head=owner:branch`,
# `state=all`; pull requests from forks' same-named branches are left out after).
OVERVIEW_WITH_PULLS = """
query($owner: String!, $name: String!, $branch: String!) {
  repository(owner: $owner, name: $name) {
    id
    defaultBranchRef { name target { oid ... on Commit { tree { oid } } } }
    pullRequests(headRefName: $branch, first: 100, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes {
        number url state title body headRefName baseRefName headRefOid isDraft isCrossRepository
        labels(first: 100) { nodes { name } }
      }
    }
  }
}
"""

# `refUpdateRule` is the branch protection rule as a non-admin sees it and `rules` the active
# rulesets' rules for the ref (https://docs.github.com/en/graphql/reference/objects#ref): REST's
# `protected` is true for either. `compare` is made from the default branch as it is now.
BRANCH_STATE = """
query($owner: String!, $name: String!, $ref: String!, $branch: String!) {
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $ref) {
      target { oid }
      refUpdateRule { pattern }
      rules(first: 1) { totalCount }
    }
    defaultBranchRef {
      target { oid }
      compare(headRef: $branch) {
        commits(first: 100) {
          totalCount
          nodes { oid message parents(first: 10) { nodes { oid } } author { name email } }
        }
      }
    }
  }
}
"""


CREATE_BRANCH_WITH_COMMIT = """
mutation($repositoryId: ID!, $refUpdates: [RefUpdate!]!, $commit: CreateCommitOnBranchInput!) {
  updateRefs(input: {repositoryId: $repositoryId, refUpdates: $refUpdates}) { clientMutationId }
  createCommitOnBranch(input: $commit) { commit { oid } }
}
"""


@dataclass(frozen=True)
class Overview:
    node_id: str
    default_branch: str
    head: str | None  # None: the default branch has no commits
    tree: str | None
    pulls: tuple[ChangeRequest, ...] = ()  # from the branch asked for, newest first


def overview(api: GitHubApi, full_name: str, pulls_from: str | None = None) -> Overview:
    owner, _, name = full_name.partition("/")
    if pulls_from is None:
        data = api.query(OVERVIEW, {"owner": owner, "name": name})
    else:
        variables = {"owner": owner, "name": name, "branch": pulls_from}
        data = api.query(OVERVIEW_WITH_PULLS, variables)
    repository = data.get("repository")
    if not isinstance(repository, dict):
        raise ForgeError(f"github {full_name}: the repository overview came back empty")
    ref = repository.get("defaultBranchRef") or {}
    target = ref.get("target") or {}
    tree = (target.get("tree") or {}).get("oid")
    return Overview(
        node_id=str(repository["id"]),
        default_branch=str(ref.get("name") or ""),
        head=target.get("oid"),
        tree=None if tree is None else str(tree),
        pulls=tuple(
            sorted(
                (
                    _pull(node)
                    for node in (repository.get("pullRequests") or {}).get("nodes") or []
                    if isinstance(node, dict) and not node.get("isCrossRepository")
                ),
                key=lambda pull: -pull.number,
            )
        ),
    )


class Unanswered(Exception):
    """GraphQL could not say exactly what REST would: the caller asks REST."""


def branch_state(api: GitHubApi, full_name: str, branch: str, base_sha: str) -> BranchState | None:
    """One query for what `branch`, then `compare/base...branch` say by REST. Unanswered when
    the answer is not exactly that: the default branch no longer at `base_sha` (the comparison
    is made from the branch as it is now), or any error (a field this GitHub lacks or this
    token may not read)."""
    owner, _, name = full_name.partition("/")
    variables = {"owner": owner, "name": name, "ref": f"refs/heads/{branch}", "branch": branch}
    answer = api.graphql(BRANCH_STATE, variables)
    repository = (answer.get("data") or {}).get("repository")
    if answer.get("errors") or not isinstance(repository, dict):
        raise Unanswered(f"github {full_name}: the branch query was not answered")
    ref = repository.get("ref")
    if ref is None:
        return None
    default = repository.get("defaultBranchRef") or {}
    if (default.get("target") or {}).get("oid") != base_sha:
        raise Unanswered(f"github {full_name}: the default branch moved")
    protected = ref.get("refUpdateRule") is not None or bool(
        (ref.get("rules") or {}).get("totalCount")
    )
    head = str(ref["target"]["oid"])
    comparison = default.get("compare")
    if comparison is None:  # no common ancestor
        return BranchState(head, protected, since_base=None)
    listed = comparison["commits"]
    commits = [_commit(node) for node in listed.get("nodes") or []]
    complete = int(listed.get("totalCount", 0)) <= len(commits)
    return BranchState(head, protected, tuple(newest_first(commits)), complete)


def _commit(data: dict[str, Any]) -> CommitInfo:
    author = data.get("author") or {}
    return CommitInfo(
        sha=str(data["oid"]),
        parents=tuple(str(p["oid"]) for p in (data.get("parents") or {}).get("nodes") or []),
        author_name=str(author.get("name") or ""),
        author_email=str(author.get("email") or ""),
        message=str(data.get("message") or ""),
    )


def _pull(data: dict[str, Any]) -> ChangeRequest:
    return ChangeRequest(
        number=int(data["number"]),
        url=str(data.get("url", "")),
        state=ChangeRequestState(str(data.get("state", "OPEN")).lower()),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        source_branch=str(data["headRefName"]),
        target_branch=str(data["baseRefName"]),
        head_sha=data.get("headRefOid"),
        draft=bool(data.get("isDraft", False)),
        labels=tuple(str(label["name"]) for label in (data.get("labels") or {}).get("nodes") or []),
    )


def writable_in_one(base: Listing, changes: Sequence[FileChange]) -> bool:
    """Whether `createCommitOnBranch` writes `changes` exactly: files only added or edited as
    regular files (it gives every file it adds mode 100644) and at most INLINE_TREE_BYTES."""
    size = 0
    for change in changes:
        existing = base.entries.get(change.path)
        if existing is not None and existing.mode != REGULAR_FILE:
            return False
        size += len(change.content or b"")
    return size <= INLINE_TREE_BYTES


def create_branch_with_commit(
    api: GitHubApi,
    full_name: str,
    repository_id: str,
    branch: str,
    base_sha: str,
    changes: Sequence[FileChange],
    message: str,
) -> str:
    """One request: the branch at `base_sha`, then a verified commit on it; the commit's sha.
    BranchExists, nothing written, when the branch exists and holds anything but `base_sha`
    (the commit's `expectedHeadOid` check fails too). A branch that exists at exactly
    `base_sha` carries no commit of anyone's: the commit lands on it as a fast-forward, which
    GitHub's own branch rules still govern. The pull request is opened by the caller, only
    once the commit is there: a third field in this document would run even when the first
    two failed, and open a pull request from someone else's branch."""
    headline, _, rest = message.partition("\n")
    commit = {
        "branch": {"repositoryNameWithOwner": full_name, "branchName": branch},
        "expectedHeadOid": base_sha,
        "message": {"headline": headline, "body": rest.strip("\n")},
        "fileChanges": {
            "additions": [
                {"path": c.path, "contents": base64.b64encode(c.content).decode("ascii")}
                for c in changes
                if c.content is not None
            ],
            "deletions": [{"path": c.path} for c in changes if c.content is None],
        },
    }
    create = {
        "name": f"refs/heads/{branch}",
        "beforeOid": ZERO_SHA,
        "afterOid": base_sha,
        "force": False,
    }
    variables = {"repositoryId": repository_id, "refUpdates": [create], "commit": commit}
    answer = api.graphql(CREATE_BRANCH_WITH_COMMIT, variables, accept=UPDATE_REFS_PREVIEW)
    data = answer.get("data") or {}
    written = (data.get("createCommitOnBranch") or {}).get("commit") or {}
    if written.get("oid"):
        return str(written["oid"])
    reasons = "; ".join(
        str(error.get("message", ""))
        for error in answer.get("errors") or []
        if isinstance(error, dict)
    )
    if data.get("updateRefs") is None:
        raise BranchExists(f"github {full_name}: branch {branch} exists: {reasons}")
    # The branch was created at the base but the commit refused: a later scan finds the
    # branch at the base and writes its commit there.
    raise ForgeError(f"github {full_name}: the commit was refused: {reasons}")
