"""What a person does with a review suggestion: "Commit suggestion" on the forge's page.

The suggested lines replace the lines the comment covers (GitHub: `start_line`..`line`;
GitLab: `suggestion:-A+B` around the note's line), in the file's own line endings, as one
commit on the change request's head.
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"^(`{3,})suggestion(?::-(\d+)\+(\d+))?\n(.*?)^\1$", re.M | re.S)


def suggested(body: str) -> tuple[list[str], int, int] | None:
    """(lines, above, below) of the first suggestion block in a comment, or None."""
    match = _BLOCK.search(body)
    if match is None:
        return None
    lines = match.group(4).split("\n")[:-1]  # the block's text ends with the line before ```
    return lines, int(match.group(2) or 0), int(match.group(3) or 0)


def apply_lines(data: bytes, first: int, last: int, lines: list[str]) -> bytes:
    """Replace 1-based lines first..last of `data` with `lines`, keeping the file's line
    ending and its final newline (or lack of one)."""
    text = data.decode()
    eol = "\r\n" if "\r\n" in text else "\n"
    parts = text.split(eol)
    final_newline = parts[-1] == ""
    if final_newline:
        parts.pop()
    parts[first - 1 : last] = lines
    return (eol.join(parts) + (eol if final_newline else "")).encode()
