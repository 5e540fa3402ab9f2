"""GitHub's Git Data API: list a tree, read blobs, write a commit without a clone.

Commits are built from blobs, a tree on `base_tree` and a commit object, so commits made with an
App's installation token are signed by GitHub (shown as Verified) and need no working copy.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from workers.forge.base import Conflict, FileChange, ForgeError, NotFound, TreeEntry
from workers.forge.common import Listing
from workers.forge.github_api import GitHubApi

REGULAR_FILE = "100644"


INLINE_TREE_BYTES = 1024 * 1024  # text sent inside one tree request; the rest as blobs


def _repo_path(full_name: str) -> str:
    return f"/repos/{quote(full_name)}"


def _blobs(items: Sequence[dict[str, Any]], prefix: str) -> dict[str, TreeEntry]:
    return {
        prefix + item["path"]: TreeEntry(
            path=prefix + item["path"], sha=item["sha"], size=item.get("size"), mode=item["mode"]
        )
        for item in items
        if item["type"] == "blob"
    }


def list_tree(api: GitHubApi, full_name: str, sha: str) -> Listing:
    """One recursive tree request; GitHub truncates huge trees, and then (as its documentation
    advises) every tree is fetched non-recursively, one subtree at a time."""
    trees = f"{_repo_path(full_name)}/git/trees"
    data = api.call("GET", f"{trees}/{sha}", params={"recursive": 1})
    if not data.get("truncated"):
        return Listing(_blobs(data["tree"], ""), root_tree=data["sha"])
    entries: dict[str, TreeEntry] = {}
    pending = [(str(data["sha"]), "")]
    while pending:
        tree_sha, prefix = pending.pop()
        level = api.call("GET", f"{trees}/{tree_sha}")
        if level.get("truncated"):
            raise ForgeError(f"github tree {prefix or '/'} of {full_name} is too large to list")
        entries.update(_blobs(level["tree"], prefix))
        pending.extend(
            (item["sha"], f"{prefix}{item['path']}/")
            for item in level["tree"]
            if item["type"] == "tree"
        )
    return Listing(dict(sorted(entries.items())), root_tree=data["sha"])


def read_blob(api: GitHubApi, full_name: str, blob_sha: str) -> bytes:
    data = api.call("GET", f"{_repo_path(full_name)}/git/blobs/{blob_sha}")
    return _decode(data)


def read_path(api: GitHubApi, full_name: str, path: str, ref: str) -> bytes:
    """A file by path, for callers that did not list the tree first."""
    data = api.call("GET", f"{_repo_path(full_name)}/contents/{quote(path)}", params={"ref": ref})
    if not isinstance(data, dict) or data.get("type", "file") != "file":
        raise NotFound(f"github {full_name}: {path} at {ref} is not a file")
    if data.get("encoding") == "base64" and data.get("content") is not None:
        return _decode(data)
    # Files over 1 MB come without content; their blob has it.
    return read_blob(api, full_name, str(data["sha"]))


def _decode(data: dict[str, Any]) -> bytes:
    if data.get("encoding") != "base64":
        raise ForgeError(f"github answered a blob in {data.get('encoding')!r} encoding")
    return base64.b64decode(str(data["content"]))


def write_commit(
    api: GitHubApi,
    full_name: str,
    base: Listing,
    base_sha: str,
    changes: Sequence[FileChange],
    message: str,
) -> str:
    """One tree on the base tree, one commit; returns its sha.

    New contents travel inside the tree request (GitHub writes their blobs) up to
    INLINE_TREE_BYTES of text in all; larger or non-UTF-8 contents are uploaded as blobs first,
    one request each. Existing files keep their mode; deleting a path the base does not have is
    a no-op.
    """
    repo = _repo_path(full_name)
    items: list[dict[str, Any]] = []
    inline_budget = INLINE_TREE_BYTES
    for change in changes:
        existing = base.entries.get(change.path)
        item: dict[str, Any] = {
            "path": change.path,
            "mode": existing.mode if existing else REGULAR_FILE,
            "type": "blob",
        }
        if change.content is None:
            if existing is not None:
                items.append(item | {"sha": None})
            continue
        text = _utf8(change.content)
        if text is not None and len(change.content) <= inline_budget:
            inline_budget -= len(change.content)
            items.append(item | {"content": text})
            continue
        encoded = base64.b64encode(change.content).decode("ascii")
        blob = api.call(
            "POST", f"{repo}/git/blobs", body={"content": encoded, "encoding": "base64"}
        )
        items.append(item | {"sha": blob["sha"]})
    tree = api.call("POST", f"{repo}/git/trees", body={"base_tree": base.root_tree, "tree": items})
    commit = api.call(
        "POST",
        f"{repo}/git/commits",
        body={"message": message, "tree": tree["sha"], "parents": [base_sha]},
    )
    return str(commit["sha"])


def _utf8(content: bytes) -> str | None:
    """The text of `content` when it is UTF-8 (a tree entry's `content` is a JSON string)."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def ref_head(api: GitHubApi, full_name: str, branch: str) -> str | None:
    """Conditional: an unmoved branch (every no-op rescan) is a 304, free of rate limit."""
    try:
        data = api.conditional_get(f"{_repo_path(full_name)}/git/ref/heads/{quote(branch)}")
    except NotFound:
        return None
    return str(data["object"]["sha"])


ZERO_SHA = "0" * 40
# GitHub's schema previews still list `updateRefs` under "Update refs preview"; sending its
# media type is harmless where the mutation is generally available and needed where it is not:
# https://docs.github.com/en/graphql/overview/schema-previews#update-refs-preview
UPDATE_REFS_PREVIEW = "application/vnd.github.update-refs-preview+json"
UPDATE_REFS = """
mutation($repositoryId: ID!, $refUpdates: [RefUpdate!]!) {
  updateRefs(input: {repositoryId: $repositoryId, refUpdates: $refUpdates}) { clientMutationId }
}
"""


def point_branch(
    api: GitHubApi,
    full_name: str,
    repository_id: str,
    branch: str,
    sha: str | None,
    expected_head: str | None,
) -> None:
    """Create `branch` at `sha` (`expected_head=None`), force-move it there or delete it
    (`sha=None`), only if it holds `expected_head` right then: a compare-and-swap.

    The REST API has none (its PATCH only knows `force`), GraphQL's `updateRefs` does:
    https://docs.github.com/en/graphql/reference/mutations#updaterefs — `beforeOid` is the
    value the ref must hold, zeros for "must not exist"; `afterOid` zeros delete it.
    """
    if sha is None and expected_head is None:
        raise ValueError("nothing to do: no new head and no expected one")
    update = {
        "name": f"refs/heads/{branch}",
        "beforeOid": expected_head or ZERO_SHA,
        "afterOid": sha or ZERO_SHA,
        "force": True,
    }
    variables = {"repositoryId": repository_id, "refUpdates": [update]}
    answer = api.graphql(UPDATE_REFS, variables, accept=UPDATE_REFS_PREVIEW)
    errors = answer.get("errors")
    if not errors:
        return
    current = ref_head(api, full_name, branch)
    if sha is None and current is None:
        return  # deleted already: the state we wanted
    if current != expected_head:
        raise Conflict(
            f"github {full_name}: branch {branch} is at {current or 'nothing'}, "
            f"expected {expected_head or 'nothing'}"
        )
    reasons = "; ".join(
        str(error.get("message", "")) for error in errors if isinstance(error, dict)
    )
    raise ForgeError(f"github {full_name}: updateRefs refused {branch}: {reasons}")
