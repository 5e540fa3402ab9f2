"""Just enough GitHub-flavoured Markdown to check documentation offline: fenced blocks,
headings and their anchors (GitHub's slugs), links, and inline code spans.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
_HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]*)\"", re.IGNORECASE)
_HTML_ANCHOR = re.compile(r"<a\s[^>]*?(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
_LINK_TEXT = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HTML_TAG = re.compile(r"<[^>]+>")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class CodeBlock:
    info: str  # the fence's language word, "" when none
    text: str
    line: int  # 1-based line of the opening fence


@dataclass(frozen=True)
class Link:
    target: str
    line: int


@dataclass(frozen=True)
class Document:
    path: Path
    prose: list[tuple[int, str]]  # (1-based line, text) outside fenced blocks
    blocks: list[CodeBlock]

    @classmethod
    def read(cls, path: Path) -> Document:
        prose: list[tuple[int, str]] = []
        blocks: list[CodeBlock] = []
        fence: str | None = None
        info, start = "", 0
        body: list[str] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            opening = _FENCE.match(line)
            if fence is None and opening:
                fence, info, start, body = opening.group(1), opening.group(2), number, []
            elif fence is not None and line.strip().startswith(fence) and not line.strip("`~ "):
                blocks.append(CodeBlock(info, "\n".join(body), start))
                fence = None
            elif fence is not None:
                body.append(line)
            else:
                prose.append((number, line))
        assert fence is None, f"{path}: the fence opened at line {start} is never closed"
        return cls(path, prose, blocks)

    def anchors(self) -> set[str]:
        """Every `#fragment` GitHub gives this page: heading slugs and HTML ids."""
        found: set[str] = set()
        seen: Counter[str] = Counter()
        for _, line in self.prose:
            found.update(_HTML_ANCHOR.findall(line))
            heading = _HEADING.match(line)
            if heading:
                slug = github_slug(heading.group(2))
                found.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
                seen[slug] += 1
        return found

    def links(self) -> list[Link]:
        """Link and image targets in the prose (code spans excluded)."""
        found: list[Link] = []
        for number, line in self.prose:
            definition = _REFERENCE_DEFINITION.match(line)
            if definition:
                found.append(Link(definition.group(1), number))
                continue
            text = _CODE_SPAN.sub("", line)
            targets = _INLINE_LINK.findall(text) + _HTML_LINK.findall(text)
            found.extend(Link(target, number) for target in targets)
        return found

    def code_spans(self) -> list[str]:
        return [
            match.group(2).strip() for _, line in self.prose for match in _CODE_SPAN.finditer(line)
        ]


def github_slug(heading: str) -> str:
    """The anchor GitHub derives from a heading: its rendered text, lowercased, punctuation
    and symbols dropped (letters, digits, `-` and `_` stay), spaces turned into hyphens."""
    text = _HTML_TAG.sub("", _LINK_TEXT.sub(r"\1", heading)).lower()
    return "".join(char for char in text if char.isalnum() or char in "-_ ").replace(" ", "-")


def is_external(target: str) -> bool:
    return bool(_SCHEME.match(target)) or target.startswith("//")
