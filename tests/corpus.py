"""Where the shared manifest corpus lives, and how to judge a fixed file against its original.

The corpus sits next to the repository (`../shared/corpus` from its root), outside git. Tests
that need it call `require_corpus()`: it skips with a reason when the corpus is absent (a
failure under `REQUIRE_ALL_TESTS=1`, as every skip: tests/require_all.py).
"""

from __future__ import annotations

import difflib
import itertools
import posixpath
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPOSITORY_ROOT / ".." / "shared" / "corpus"
HELM_CHARTS_FILE = "HELM_CHARTS.txt"
BOM = "\ufeff"


def require_corpus() -> Path:
    """The corpus directory; skip when it is not there."""
    corpus = CORPUS_DIR.resolve()
    if (corpus / HELM_CHARTS_FILE).is_file():
        return corpus
    reason = f"manifest corpus not found at ../shared/corpus (looked in {corpus.name}/)"
    pytest.skip(reason)


def helm_chart_roots(corpus: Path) -> list[str]:
    """Chart roots (POSIX, relative to the corpus) listed in HELM_CHARTS.txt."""
    lines = (corpus / HELM_CHARTS_FILE).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def template_dirs(corpus: Path) -> list[str]:
    """Every chart's `templates/` directory, relative to the corpus, with a trailing slash."""
    return [posixpath.join(root, "templates") + "/" for root in helm_chart_roots(corpus)]


def project_of(path: str) -> str:
    """The upstream project a corpus path belongs to: its first directory (`owner__repo`)."""
    return path.split("/", 1)[0]


# --- Comparing a fixed file with its original, line by line (FIDELITY.md) ---------------------

# A line the fix added on its own: YAML or JSON, with a comma when a JSON member follows.
INSERTED_LINE = re.compile(r'[ ]*(?:imagePullPolicy: Always|"imagePullPolicy": "Always",?)')
# An entry the fix added inside a one-line flow mapping.
FLOW_ENTRIES = (", imagePullPolicy: Always", ', "imagePullPolicy": "Always"')
POLICY_KEY = "imagePullPolicy"
# An existing key's value token (after an optional anchor), to compare the text around it.
KEY_TO_VALUE = r"""["']?[ \t]*:[ \t]*(?:&[^\s,}\]]+[ \t]+)?"""
VALUE_TOKEN = r""""(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s,}\]#]*"""
ALWAYS_TOKENS = frozenset({"Always", '"Always"', "'Always'"})
EOLS = ("\r\n", "\n", "\r")


def split_eol(line: str) -> tuple[str, str]:
    for eol in EOLS:
        if line.endswith(eol):
            return line[: -len(eol)], eol
    return line, ""


def is_inserted_line(line: str) -> bool:
    return INSERTED_LINE.fullmatch(split_eol(line)[0]) is not None


def _flow_insertions(new: str, count: int) -> Iterator[str]:
    """`new` with `count` of its one-line flow entries `, imagePullPolicy: Always` taken out,
    in every way that can be done (any of them may be an existing, replaced entry)."""
    spans = [
        (match.start(), match.end())
        for entry in FLOW_ENTRIES
        for match in re.finditer(re.escape(entry), new)
    ]
    for chosen in itertools.combinations(sorted(spans), count):
        kept, cursor = [], 0
        for start, end in chosen:
            kept.append(new[cursor:start])
            cursor = end
        yield "".join(kept) + new[cursor:]


def _quote(token: str) -> str:
    return token[0] if token[:1] in ("'", '"') else ""


def _value_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(key) for key in sorted(keys))
    return re.compile(rf"((?<![\w-])(?:{names}){KEY_TO_VALUE})({VALUE_TOKEN})([ \t]*)")


def _allowed_pair(old: str, new: str, values: re.Pattern[str]) -> bool:
    """`new` is `old` with policy values set to Always (same quotes), flow entries added, or
    (JSON) a comma after the image member; nothing else."""
    added = len(values.findall(new)) - len(values.findall(old))
    return added >= 0 and any(
        _same_but_values(old, candidate, values) for candidate in _flow_insertions(new, added)
    )


def _same_but_values(old: str, new: str, values: re.Pattern[str]) -> bool:
    old_values = [m.group(2) for m in values.finditer(old)]
    new_values = [m.group(2) for m in values.finditer(new)]
    if len(old_values) != len(new_values):
        return False
    for before, after in zip(old_values, new_values, strict=True):
        if after != before and (after not in ALWAYS_TOKENS or _quote(after) != _quote(before)):
            return False
    # `key:` that gains ` Always` may shift the spaces around the value; others keep them.
    around = _squeezed if "" in old_values else r"\1\3"
    old_rest, old_eol = split_eol(values.sub(around, old))
    new_rest, new_eol = split_eol(values.sub(around, new))
    if old_eol != new_eol:
        return False
    return new_rest == old_rest or (new_rest == old_rest + "," and '"image"' in old)


def _squeezed(match: re.Match[str]) -> str:
    return match.group(1).rstrip(" \t") + "|"


def unexpected_changes(old: str, new: str, keys: Iterable[str] = (POLICY_KEY,)) -> list[str]:
    """What differs between an original and its fixed text beyond what the fix may change:
    values of `keys` set to Always (quotes kept), inserted `imagePullPolicy` lines or flow
    entries, and (JSON) a comma after the image member. Empty when the fix is clean."""
    values = _value_pattern(keys)
    if not old.endswith(EOLS) and not new.endswith(EOLS):
        # A line inserted after an unterminated last line ends that line (checked elsewhere)
        # with the file's own line ending.
        eol = first_eol(old) or "\n"
        old, new = old + eol, new + eol
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    problems: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed, added = old_lines[i1:i2], list(new_lines[j1:j2])
        for number, line in enumerate(removed, start=i1 + 1):
            # Pair each removed line with the next added line that is it plus the fix.
            while added and not _allowed_pair(line, added[0], values):
                if not is_inserted_line(added[0]):
                    problems.append(f"line {number}: {line!r} became {added[0]!r}")
                added.pop(0)
            if not added:
                problems.append(f"line {number}: {line!r} removed")
                break
            added.pop(0)
        problems.extend(f"added {line!r}" for line in added if not is_inserted_line(line))
    return problems


def first_eol(text: str) -> str:
    for line in text.splitlines(keepends=True):
        return split_eol(line)[1]
    return ""


# --- A chart source (values.yaml, a template) against its fixed text ---------------------------

# A line a chart fix may add or change: a pull policy set to Always, or the parent key of an
# inserted one (`global:`); every changed line must be one.
POLICY_LINE = re.compile(
    r"""[ \t]*(?:-[ \t]+)?["']?\w*pull_?policy["']?[ \t]*:"""
    r"""[ \t]*["']?Always["']?[ \t]*(?:#.*)?""",
    re.IGNORECASE,
)
PARENT_LINE = re.compile(r"[ \t]*\w+:[ \t]*")


def chart_source_problems(old: bytes, new: bytes) -> list[str]:
    """What a chart fix changed in a source beyond pull-policy lines (set to Always, or the
    parent key of an inserted one). Empty when the fix is clean."""
    before = old.decode("utf-8").splitlines()
    after = new.decode("utf-8").splitlines()
    problems = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after).get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and (i2 - i1) != (j2 - j1):
            problems.append(f"lines {i1 + 1}-{i2}: replaced by {j2 - j1} lines")
        for line in after[j1:j2]:
            if not POLICY_LINE.fullmatch(line) and not (
                tag == "insert" and PARENT_LINE.fullmatch(line)
            ):
                problems.append(f"{tag}: {line!r}")
    return problems
