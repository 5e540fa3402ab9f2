"""Many files' contents in one GitLab GraphQL query instead of one raw-file request each.

    project(fullPath:) { repository { blobs(ref:, paths:) { nodes { path rawTextBlob rawSize } } } }

https://docs.gitlab.com/api/graphql/reference/#repositoryblob — `rawTextBlob` is the file's
text, null for a binary file. Only answers that give the file's exact bytes are used (the
text's UTF-8 length equal to `rawSize`, so a file that is not valid UTF-8 is not silently
altered); everything else is left for the REST fallback. python-gitlab's own GraphQL client
(`gitlab.GraphQL`) needs the `gql` package, which the locked dependencies leave out: the query
goes through the same python-gitlab session as every REST request (its auth, retries and
rate-limit headers), to the instance's `/api/graphql`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

# GitLab refuses a query whose complexity passes 250 (https://docs.gitlab.com/api/graphql/#limits)
# and counts a connection's fields once per item it may return: 50 files of three fields stay
# under it, GitLab's largest page (100) would not.
BATCH_FILES = 50
QUERY = """
query($project: ID!, $ref: String!, $paths: [String!]!) {
  project(fullPath: $project) {
    repository {
      blobs(ref: $ref, paths: $paths, first: 50) { nodes { path rawTextBlob rawSize } }
    }
  }
}
"""


def batches(paths: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(paths), BATCH_FILES):
        yield paths[start : start + BATCH_FILES]


def variables(full_name: str, sha: str, paths: Sequence[str]) -> dict[str, Any]:
    return {"project": full_name, "ref": sha, "paths": list(paths)}


def exact_texts(answer: Any, wanted: Sequence[str]) -> dict[str, bytes]:
    """path -> exact contents, for every wanted path the answer gives in full."""
    data = answer.get("data") if isinstance(answer, dict) else None
    project = (data or {}).get("project") or {}
    blobs = ((project.get("repository") or {}).get("blobs") or {}).get("nodes") or []
    asked = set(wanted)
    contents: dict[str, bytes] = {}
    for blob in blobs:
        if not isinstance(blob, dict) or blob.get("path") not in asked:
            continue
        text = blob.get("rawTextBlob")
        if not isinstance(text, str):
            continue
        exact = text.encode("utf-8")
        if len(exact) == blob.get("rawSize"):
            contents[str(blob["path"])] = exact
    return contents
