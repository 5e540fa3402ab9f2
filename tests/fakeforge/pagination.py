"""Page/per_page slicing with the headers each forge sends (Link; GitLab adds X-* counters)."""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from tests.fakeforge.web import ApiError, Request

Item = TypeVar("Item")


@dataclass(frozen=True)
class PageRules:
    default_per_page: int
    max_per_page: int = 100


GITHUB_PAGES = PageRules(default_per_page=30)
GITLAB_PAGES = PageRules(default_per_page=20)


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    total: int

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ApiError(400, {"message": f"{name} is invalid"}) from error
    return value if value > 0 else default


def paginate(
    items: Sequence[Item], request: Request, rules: PageRules, cap: int | None
) -> tuple[list[Item], Page]:
    per_page = min(_positive_int(request, "per_page", rules.default_per_page), rules.max_per_page)
    if cap is not None:
        per_page = min(per_page, cap)
    number = _positive_int(request, "page", 1)
    start = (number - 1) * per_page
    return list(items[start : start + per_page]), Page(number, per_page, len(items))


def _page_url(request: Request, page: int) -> str:
    query = [(k, v) for k, values in request.query.items() if k != "page" for v in values]
    query.append(("page", str(page)))
    return f"{request.origin}{request.raw_path}?{urllib.parse.urlencode(query)}"


def link_header(request: Request, page: Page) -> list[tuple[str, str]]:
    links = []
    if page.number < page.last:
        links.append(f'<{_page_url(request, page.number + 1)}>; rel="next"')
        links.append(f'<{_page_url(request, page.last)}>; rel="last"')
    if page.number > 1:
        links.append(f'<{_page_url(request, 1)}>; rel="first"')
        links.append(f'<{_page_url(request, page.number - 1)}>; rel="prev"')
    return [("Link", ", ".join(links))] if links else []


def gitlab_headers(request: Request, page: Page) -> list[tuple[str, str]]:
    has_next = page.number < page.last
    return [
        ("X-Page", str(page.number)),
        ("X-Per-Page", str(page.per_page)),
        ("X-Total", str(page.total)),
        ("X-Total-Pages", str(page.last)),
        ("X-Next-Page", str(page.number + 1) if has_next else ""),
        ("X-Prev-Page", str(page.number - 1) if page.number > 1 else ""),
        *link_header(request, page),
    ]
