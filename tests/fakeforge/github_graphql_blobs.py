"""GitHub GraphQL reads of many files in one query: `repository { alias: object(expression:) }`.

No query parser: the document must take the repository as `repository(owner: $o, name: $n)`
and each file as `alias: object(expression: $var)` with `$var` = "REV:path" in the variables
(the shape the adapter sends). Each alias answers a Blob's `text`, `isBinary`, `byteSize` and
`isTruncated` (https://docs.github.com/en/graphql/reference/objects#blob), or null when the
expression names nothing or not a blob, as GitHub does.

`text` is null for a binary blob (git's test: a NUL in the first 8,000 bytes); bytes that are
not UTF-8 are replaced (so the text no longer matches `byteSize`), and text longer than
`ForgeState.graphql_text_limit` bytes is cut with `isTruncated: true`. GitHub documents that
truncation but not its threshold: the fake's is a knob, not GitHub's number.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakeforge.state import ForgeState
from tests.fakeforge.web import ApiCall, Response, json_response

REPOSITORY = re.compile(r"repository\(\s*owner:\s*\$(\w+)\s*,\s*name:\s*\$(\w+)\s*\)")
OBJECT = re.compile(r"(\w+)\s*:\s*object\(\s*expression:\s*\$(\w+)\s*\)")
BLOB_FIELDS = ("text", "isBinary", "byteSize", "isTruncated")
BINARY_PROBE = 8000


def is_blob_query(query: str) -> bool:
    return REPOSITORY.search(query) is not None and OBJECT.search(query) is not None


def blob_query(state: ForgeState, call: ApiCall, query: str, variables: Any) -> Response:
    found = REPOSITORY.search(query)
    if found is None or not isinstance(variables, dict):
        return errors("the query must take the repository by $owner and $name variables")
    full_name = f"{variables.get(found.group(1))}/{variables.get(found.group(2))}"
    repository = state.repo(full_name)
    if repository is None or call.principal is None or not call.principal.can_see(full_name):
        message = f"Could not resolve to a Repository with the name '{full_name}'."
        return json_response(
            200,
            {"data": {"repository": None}, "errors": [{"type": "NOT_FOUND", "message": message}]},
        )
    aliases = {alias: variables.get(name) for alias, name in OBJECT.findall(query)}
    if not all(isinstance(expression, str) for expression in aliases.values()):
        return errors("every object(expression:) needs its String variable")
    specs = [str(expression) for expression in aliases.values()]
    state.graphql_reads.extend(specs)
    objects = repository.bare.batch(specs)
    fields = [field for field in BLOB_FIELDS if re.search(rf"\b{field}\b", query)]
    answer: dict[str, Any] = {}
    for alias, expression in aliases.items():
        found_object = objects.get(str(expression))
        if found_object is None or found_object[1] != "blob":
            answer[alias] = None
            continue
        blob = _blob(found_object[2], state.graphql_text_limit)
        answer[alias] = {field: blob[field] for field in fields}
    return json_response(200, {"data": {"repository": answer}})


def _blob(content: bytes, text_limit: int) -> dict[str, Any]:
    binary = b"\0" in content[:BINARY_PROBE]
    truncated = not binary and len(content) > text_limit
    text = None if binary else content[:text_limit].decode("utf-8", errors="replace")
    return {"text": text, "isBinary": binary, "byteSize": len(content), "isTruncated": truncated}


def errors(message: str, kind: str = "UNPROCESSABLE") -> Response:
    return json_response(200, {"data": None, "errors": [{"type": kind, "message": message}]})
