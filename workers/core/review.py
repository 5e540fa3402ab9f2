"""Reviews of people's pull requests, pure: which lines a PR adds, and the suggestions that
apply the core's byte-minimal fix to them.

Input is what a forge returns (the unified-diff hunks of one changed file) and the file's text
at the PR head before and after `check_manifest(fix=True)`. Line numbers are 1-based lines of
the PR head's file (the diff's "new" side), the lines a review comment is placed on.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workers.core.explain import finding_message
from workers.core.findings import Finding

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
MARKER_PREFIX = "<!-- pullpolicy:suggestion "
MARKER_SUFFIX = " -->"
_MARKER = re.compile(r"<!-- pullpolicy:suggestion ([0-9a-f,]+)@(\d+) -->")
SUGGESTION_INTRO = "pullpolicy: {message}. Commit this suggestion to fix it."
FIXED_REPLY = "pullpolicy: fixed in {sha}."
IGNORE_WORD = "pullpolicy: ignore"


@dataclass(frozen=True)
class DiffLines:
    """What one file's diff shows of the new file: the lines it adds or changes, and the
    ranges of its hunks (added and context lines), where a comment may sit."""

    added: frozenset[int]
    hunks: tuple[tuple[int, int], ...] = ()  # (first, last) new-file lines, inclusive

    def hunk_of(self, first: int, last: int) -> tuple[int, int] | None:
        """The hunk holding every line first..last, or None (a review comment may span only
        lines of one hunk)."""
        for start, end in self.hunks:
            if start <= first and last <= end:
                return start, end
        return None


def parse_patch(patch: str | None) -> DiffLines:
    """The new-file lines of a unified diff's hunks (GitHub's `patch`, GitLab's `diff`).

    Each hunk holds as many new-side lines as its header says (`+start,count`). Split on
    "\\n" only: other separators inside a line are content, as they are to git."""
    added: set[int] = set()
    hunks: list[tuple[int, int]] = []
    line = remaining = 0
    for text in (patch or "").split("\n"):
        header = _HUNK.match(text)
        if header:
            line, remaining = int(header.group(1)), int(header.group(2) or "1")
            if remaining:
                hunks.append((line, line + remaining - 1))
            continue
        if remaining <= 0 or text.startswith(("-", "\\")):
            continue  # old-file lines, "\\ No newline at end of file", file headers
        if text.startswith("+"):
            added.add(line)
        line += 1  # an added or a context line (" ", or "" where a tool trimmed the space)
        remaining -= 1
    return DiffLines(frozenset(added), tuple(hunks))


@dataclass(frozen=True)
class Suggestion:
    """Replace new-file lines `start`..`end` (inclusive) with `lines`: exactly the patched
    lines, line endings left to the file. An inserted `imagePullPolicy` line suggests the line
    before it (the `image:` line) plus the new line."""

    path: str
    start: int
    end: int
    lines: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(sorted({finding.fingerprint for finding in self.findings}))

    @property
    def marker(self) -> str:
        """Hidden in the comment: a redelivered or racing event finds it and posts nothing."""
        return f"{MARKER_PREFIX}{','.join(self.fingerprints)}@{self.start}{MARKER_SUFFIX}"

    @property
    def key(self) -> tuple[tuple[str, ...], int]:
        return self.fingerprints, self.start


def _lines(text: str) -> list[str]:
    """Lines as git counts them (on "\\n"), without their line endings."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()  # the final newline ends the last line; it starts no new one
    return [part.removesuffix("\r") for part in parts]


def suggestions(
    path: str, original: str, patched: str, findings: Sequence[Finding]
) -> list[Suggestion]:
    """One suggestion per changed run of lines between the PR head's text and the core's
    patched text, carrying the findings whose line it covers."""
    old, new = _lines(original), _lines(patched)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    result: list[Suggestion] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # an inserted line: suggest it with the line above (the `image:` line)
            if i1 == 0:
                i2, j2 = 1, j2 + 1  # nothing above: take the line below instead
            else:
                i1, j1 = i1 - 1, j1 - 1
        start, end = i1 + 1, i2
        covered = tuple(f for f in findings if start <= f.line <= end)
        result.append(Suggestion(path, start, end, tuple(new[j1:j2]), covered))
    return result


def reviewable(found: Iterable[Suggestion], diff: DiffLines) -> list[Suggestion]:
    """The suggestions a review may carry: a finding on a line the PR adds or changes, and
    every replaced line inside one hunk of the diff. The rest go to the check run only."""
    return [
        suggestion
        for suggestion in found
        if suggestion.findings
        and any(finding.line in diff.added for finding in suggestion.findings)
        and diff.hunk_of(suggestion.start, suggestion.end) is not None
    ]


def in_diff(finding: Finding, diff: DiffLines) -> bool:
    return finding.line in diff.added


def fence(lines: Sequence[str]) -> str:
    """A backtick fence longer than any run of backticks in the suggested lines."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def comment_body(suggestion: Suggestion, *, gitlab: bool = False) -> str:
    """The review comment: what is wrong, the suggestion block, the hidden marker. GitLab's
    block names how many lines below the comment's line it replaces (`suggestion:-0+N`)."""
    messages = "; ".join(finding_message(finding) for finding in suggestion.findings)
    ticks = fence(suggestion.lines)
    info = f"suggestion:-0+{suggestion.end - suggestion.start}" if gitlab else "suggestion"
    block = "\n".join([f"{ticks}{info}", *suggestion.lines, ticks])
    return f"{SUGGESTION_INTRO.format(message=messages)}\n\n{block}\n\n{suggestion.marker}"


def parse_comment_marker(body: str) -> tuple[tuple[str, ...], int] | None:
    """(fingerprints, line) of a comment the bot posted, or None for anyone else's."""
    match = _MARKER.search(body)
    if match is None:
        return None
    return tuple(match.group(1).split(",")), int(match.group(2))


def asks_to_ignore(body: str) -> bool:
    """A person's reply `pullpolicy: ignore` declines the suggestion it answers."""
    return IGNORE_WORD in body.lower()
