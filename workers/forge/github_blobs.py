"""Many files' contents in one GitHub GraphQL query instead of one REST request each.

    repository(owner:, name:) { f0: object(expression: "SHA:path") { ... on Blob { ... } } }

https://docs.github.com/en/graphql/reference/objects#blob — `text` is the UTF-8 text, null for
a binary blob, and cut for a large one (`isTruncated`). Only answers that give the file's exact
bytes are used (not binary, not truncated, and the text's UTF-8 length equal to `byteSize`, so
a file that is not valid UTF-8 is not silently altered); everything else is left for the REST
fallback. Queries stay far below GraphQL's limits: at most BATCH_FILES aliases (each one node)
and BATCH_BYTES of expected text per query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from workers.forge.base import TreeEntry
from workers.forge.github_api import GitHubApi

BATCH_FILES = 100
BATCH_BYTES = 4 * 1024 * 1024
FIELDS = "... on Blob { text isBinary byteSize isTruncated }"


def read_texts(
    api: GitHubApi, full_name: str, sha: str, entries: Sequence[TreeEntry]
) -> dict[str, bytes]:
    """path -> exact contents for every entry GraphQL could answer in full."""
    owner, _, name = full_name.partition("/")
    contents: dict[str, bytes] = {}
    for batch in batches(entries):
        variables = {"owner": owner, "name": name} | _expressions(batch, sha)
        data = api.query(blob_query(len(batch)), variables)
        repository = data.get("repository") or {}
        for index, entry in enumerate(batch):
            exact = exact_bytes(repository.get(f"f{index}"))
            if exact is not None:
                contents[entry.path] = exact
    return contents


def batches(entries: Sequence[TreeEntry]) -> Iterator[Sequence[TreeEntry]]:
    batch: list[TreeEntry] = []
    size = 0
    for entry in entries:
        expected = entry.size or 0
        if batch and (len(batch) == BATCH_FILES or size + expected > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += expected
    if batch:
        yield batch


def blob_query(count: int) -> str:
    """The query document for `count` files (paths travel as variables, never in the text)."""
    names = [f"e{index}" for index in range(count)]
    declared = "".join(f", ${name}: String!" for name in names)
    aliases = " ".join(
        f"f{index}: object(expression: ${name}) {{ {FIELDS} }}" for index, name in enumerate(names)
    )
    return (
        f"query($owner: String!, $name: String!{declared}) "
        f"{{ repository(owner: $owner, name: $name) {{ {aliases} }} }}"
    )


def _expressions(batch: Sequence[TreeEntry], sha: str) -> dict[str, str]:
    return {f"e{index}": f"{sha}:{entry.path}" for index, entry in enumerate(batch)}


def exact_bytes(blob: Any) -> bytes | None:
    if not isinstance(blob, dict):
        return None
    text = blob.get("text")
    if blob.get("isBinary") or blob.get("isTruncated") or not isinstance(text, str):
        return None
    data = text.encode("utf-8")
    return data if len(data) == blob.get("byteSize") else None
