"""A commit's listing derived from an earlier commit's, instead of listing the whole tree again.

GitLab's recursive tree comes a hundred entries a page (1,000 pages for 100,000 files). From a
listing kept for OLD, the listing of NEW needs:
- `GET repository/compare?from=OLD&to=NEW&straight=true`: the paths added, deleted, renamed
  and modified between the two trees, with their modes but not their blob ids;
- `blobs(ref: NEW, paths: ...) { nodes { path oid } }` (GraphQL, fifty paths a query): the
  blob ids of the paths NEW has new content at (reports are cached by blob id).

Whenever the answer may be incomplete the caller lists the tree instead (`derive` says None):
a compare whose diffs overflowed GitLab's diff limits (`compare_timeout`, the API's name for
`overflow?`) or that comes near them, a path the blobs query does not answer, a refused compare
or query.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from workers.forge.base import ForgeError, NotFound, TreeEntry
from workers.forge.common import Listing, batched
from workers.forge.gitlab_api import GitLabApi
from workers.forge.gitlab_overview import Unsupported, refused_for_good

# The fewest files a diff may list before GitLab cuts it: `diff_max_files` defaults to 1,000
# and may only be raised (to 3,000): https://docs.gitlab.com/administration/diff_limits/
DIFF_MAX_FILES = 1000
# Paths a blob query asks: half GitLab's largest page, as graphql-ruby counts the two fields of
# each node once per item and GitLab refuses a complexity over 250
# (https://docs.gitlab.com/api/graphql/#limits): about 4 + 50 x 2 = 104.
BATCH_PATHS = 50
GITLINK = "160000"  # a submodule: not a blob, never in a listing
QUERY = f"""
query($project: ID!, $ref: String!, $paths: [String!]!) {{
  project(fullPath: $project) {{
    repository {{
      blobs(ref: $ref, paths: $paths, first: {BATCH_PATHS}) {{ nodes {{ path oid }} }}
    }}
  }}
}}
"""


def full_listing_pages(listing: Listing, per_page: int) -> int:
    """Pages the recursive tree of a commit like this one takes (it lists directories too)."""
    directories = {
        path.rsplit("/", depth)[0]
        for path in listing.entries
        for depth in range(1, path.count("/") + 1)
    }
    return math.ceil((len(listing.entries) + len(directories)) / per_page)


def derive(
    api: GitLabApi, full_name: str, old: tuple[str, Listing], new_sha: str, pages: int
) -> Listing | None:
    """NEW's listing from OLD's, or None where that could be wrong or would not save calls
    (`pages`: what listing NEW's tree would cost)."""
    old_sha, old_listing = old
    project = f"/projects/{quote(full_name, safe='')}"
    params = {"from": old_sha, "to": new_sha, "straight": "true"}
    try:
        compare = api.call("get", f"{project}/repository/compare", params=params)
    except ForgeError as refused:
        if type(refused) not in (ForgeError, NotFound):
            raise  # rate limited, forbidden, transient: the listing would fare no better
        return None  # OLD unknown there (gone since), or the compare refused
    diffs = compare.get("diffs")
    if compare.get("compare_timeout") or not isinstance(diffs, list):
        return None  # GitLab cut the diff at its limits
    if len(diffs) >= DIFF_MAX_FILES:
        return None  # at the lowest limit an instance may set: maybe cut without saying
    entries = dict(old_listing.entries)
    modes: dict[str, str] = {}
    for diff in diffs:
        entries.pop(diff["old_path"], None)
        entries.pop(diff["new_path"], None)
        if not diff.get("deleted_file") and diff.get("b_mode") != GITLINK:
            modes[diff["new_path"]] = str(diff["b_mode"])
    if math.ceil(len(modes) / BATCH_PATHS) > pages:
        return None  # more blob queries than the listing's pages
    oids = blob_ids(api, full_name, new_sha, sorted(modes))
    if oids is None or set(oids) != set(modes):
        return None  # a path GraphQL did not answer: the listing would be wrong
    for path, mode in modes.items():
        entries[path] = TreeEntry(path, oids[path], None, mode)
    return Listing(dict(sorted(entries.items())))


def blob_ids(api: GitLabApi, full_name: str, sha: str, paths: list[str]) -> dict[str, str] | None:
    """path -> blob id at `sha` for the paths GraphQL answers; None when it refused, and
    Unsupported when it will refuse every time (over this instance's complexity limit)."""
    found: dict[str, str] = {}
    for batch in batched(paths, BATCH_PATHS):
        variables = {"project": full_name, "ref": sha, "paths": list(batch)}
        try:
            answer = api.graphql(QUERY, variables)
        except ForgeError as refused:
            if type(refused) not in (ForgeError, NotFound):
                raise  # rate limited, forbidden, transient: the listing would fare no better
            return None
        if refused_for_good(answer):
            raise Unsupported("the blob query is refused", lacking=True)
        found.update(_oids(answer, set(batch)))
    return found


def _oids(answer: Any, asked: set[str]) -> dict[str, str]:
    data = answer.get("data") if isinstance(answer, dict) else None
    project = (data or {}).get("project") or {}
    blobs = ((project.get("repository") or {}).get("blobs") or {}).get("nodes") or []
    return {
        str(blob["path"]): str(blob["oid"])
        for blob in blobs
        if isinstance(blob, dict) and blob.get("path") in asked and blob.get("oid")
    }
