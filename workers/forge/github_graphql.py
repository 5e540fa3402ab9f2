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

HEAD = "name target { oid ... on Commit { tree { oid } } }"
# The pull requests from one branch (the REST list's `head=owner:branch`, `state=all`; pull
# requests from forks' same-named branches are left out after).
PULLS = """
    pullRequests(headRefName: $branch, first: 100, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes {
        number url state title body headRefName baseRefName headRefOid isDraft isCrossRepository
        labels(first: 100) { nodes { name } }
      }
    }"""
# The bot's branch: `refUpdateRule` is its branch protection rule as a non-admin sees it and
# `rules` the active rulesets' rules for it (https://docs.github.com/en/graphql/reference/objects#ref):
# REST's `protected` is true for either. `compare` (on the default branch) lists the branch's
# commits that the default branch's head does not reach, as REST's compare/HEAD...branch; its
# `headTarget` must be the `ref` read (a tag of the same name, or a push between the two reads,
# would compare something else).
BRANCH = """
    ref(qualifiedName: $ref) {
      target { oid }
      refUpdateRule { pattern }
      rules(first: 1) { totalCount }
    }"""
COMPARE = """
      compare(headRef: $branch) {
        baseTarget { oid } headTarget { oid }
        commits(first: 100) {
          totalCount
          nodes { oid message parents(first: 10) { nodes { oid } } author { name email } }
        }
      }"""
OVERVIEW = f"""
query($owner: String!, $name: String!) {{
  repository(owner: $owner, name: $name) {{ id defaultBranchRef {{ {HEAD} }} }}
}}
"""
OVERVIEW_WITH_PULLS = f"""
query($owner: String!, $name: String!, $branch: String!) {{
  repository(owner: $owner, name: $name) {{ id defaultBranchRef {{ {HEAD} }} {PULLS} }}
}}
"""
OVERVIEW_WITH_BRANCH = f"""
query($owner: String!, $name: String!, $branch: String!, $ref: String!) {{
  repository(owner: $owner, name: $name) {{
    id defaultBranchRef {{ {HEAD} {COMPARE} }} {PULLS} {BRANCH}
  }}
}}
"""
BRANCH_STATE = f"""
query($owner: String!, $name: String!, $branch: String!, $ref: String!) {{
  repository(owner: $owner, name: $name) {{
    defaultBranchRef {{ target {{ oid }} {COMPARE} }} {BRANCH}
  }}
}}
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
    branch: BranchState | None = None  # the branch asked for, when `branch_read`
    branch_read: bool = False


# Error types (GitHub's `type`, graphql-ruby's `extensions.code`) that name what this GitHub or
# this token will refuse every time.
FOR_GOOD = frozenset({"undefinedField", "FORBIDDEN"})


class Unanswered(Exception):
    """GraphQL could not say exactly what REST would: the caller asks REST."""


class Unsupported(Unanswered):
    """The answer carried errors: a field this GitHub lacks, or one this token may not read.
    Asking again would fare no better."""


def overview(
    api: GitHubApi, full_name: str, pulls_from: str | None = None, *, with_branch: bool = False
) -> Overview:
    """The repository's node id, default branch and head (with its tree), and the pull requests
    from `pulls_from`; `with_branch`: that branch's state too (see `branch_state`), or
    Unsupported when the answer carries errors."""
    owner, _, name = full_name.partition("/")
    variables = {"owner": owner, "name": name}
    if pulls_from is None:
        repository = api.query(OVERVIEW, variables).get("repository")
    elif not with_branch:
        repository = api.query(OVERVIEW_WITH_PULLS, variables | {"branch": pulls_from}).get(
            "repository"
        )
    else:
        branch = {"branch": pulls_from, "ref": f"refs/heads/{pulls_from}"}
        repository = _answered(api.graphql(OVERVIEW_WITH_BRANCH, variables | branch), full_name)
    if not isinstance(repository, dict):
        raise ForgeError(f"github {full_name}: the repository overview came back empty")
    ref = repository.get("defaultBranchRef") or {}
    target = ref.get("target") or {}
    tree = (target.get("tree") or {}).get("oid")
    head = target.get("oid")
    return Overview(
        node_id=str(repository["id"]),
        default_branch=str(ref.get("name") or ""),
        head=head,
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
        branch=_branch_state(repository, str(head)) if with_branch and head else None,
        branch_read=with_branch and bool(head),
    )


def branch_state(api: GitHubApi, full_name: str, branch: str, base_sha: str) -> BranchState | None:
    """One query for what `branch`, then `compare/base...branch` say by REST. Unanswered when
    the default branch is no longer at `base_sha` (the comparison is made from the branch as it
    is now); Unsupported when the answer carries errors."""
    owner, _, name = full_name.partition("/")
    variables = {"owner": owner, "name": name, "ref": f"refs/heads/{branch}", "branch": branch}
    repository = _answered(api.graphql(BRANCH_STATE, variables), full_name)
    default = repository.get("defaultBranchRef") or {}
    if (default.get("target") or {}).get("oid") != base_sha:
        raise Unanswered(f"github {full_name}: the default branch moved")
    return _branch_state(repository, base_sha)


def _answered(answer: dict[str, Any], full_name: str) -> dict[str, Any]:
    """The repository the answer names. Unsupported when it carries errors that asking again
    would meet again (a field this GitHub's schema lacks, one this token may not read),
    Unanswered for any other error: a partial answer's nulls would say something else here."""
    repository = (answer.get("data") or {}).get("repository")
    errors = [error for error in answer.get("errors") or [] if isinstance(error, dict)]
    if not errors and isinstance(repository, dict):
        return repository
    kinds = {error.get("type") or (error.get("extensions") or {}).get("code") for error in errors}
    if errors and kinds <= FOR_GOOD:
        raise Unsupported(f"github {full_name}: the query names what this GitHub cannot answer")
    raise Unanswered(f"github {full_name}: the query was not answered in full")


def _branch_state(repository: dict[str, Any], base_sha: str) -> BranchState | None:
    ref = repository.get("ref")
    if ref is None:
        return None
    protected = ref.get("refUpdateRule") is not None or bool(
        (ref.get("rules") or {}).get("totalCount")
    )
    head = str(ref["target"]["oid"])
    comparison = (repository.get("defaultBranchRef") or {}).get("compare")
    if comparison is None:  # no common ancestor
        return BranchState(head, protected, since_base=None)
    compared = (
        (comparison.get("baseTarget") or {}).get("oid"),
        (comparison.get("headTarget") or {}).get("oid"),
    )
    if compared != (base_sha, head):
        raise Unanswered("the comparison is not of the branch read with the head read")
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
