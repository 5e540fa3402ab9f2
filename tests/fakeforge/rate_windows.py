"""GitHub's primary rate limit, enforced per budget when a test asks for it.

Off by default (every answer then carries the fixed headers of github_apps.rate_headers). On,
each budget (an installation, shared by all its tokens; any other credential its own) gets
`limit` requests per window of `window_seconds` (compress an hour
into a minute for an onboarding simulation): answers carry the window's real x-ratelimit-*
headers, a 304 is not counted (as on GitHub), and a request past the limit is refused with
GitHub's 403 "API rate limit exceeded" and `x-ratelimit-remaining: 0`.
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

HEADER_PREFIX = "x-ratelimit-"


@dataclass
class _Window:
    started: float
    used: int = 0


class RateWindows:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.window_seconds = 3600.0
        self._windows: dict[str, _Window] = {}
        self.refused = 0  # requests answered 403 for the primary limit
        self.counted = 0  # requests counted against a window

    def configure(self, limit: int | None, window_seconds: float = 3600.0) -> None:
        with self._lock:
            self.limit, self.window_seconds = limit, window_seconds
            self._windows.clear()
            self.refused = self.counted = 0

    @property
    def enabled(self) -> bool:
        return self.limit is not None

    def _window(self, budget: str, now: float) -> _Window:
        window = self._windows.get(budget)
        if window is None or now >= window.started + self.window_seconds:
            window = self._windows[budget] = _Window(now)
        return window

    def admit(self, budget: str) -> list[tuple[str, str]] | None:
        """None when the request may be served; else the headers of the 403 that refuses it."""
        with self._lock:
            assert self.limit is not None
            window = self._window(budget, time.time())
            if window.used < self.limit:
                return None
            self.refused += 1
            return self._headers(window)

    def charge(self, budget: str, counted: bool) -> list[tuple[str, str]]:
        """Count a served request (unless `counted` is False: a 304); the headers it carries."""
        with self._lock:
            window = self._window(budget, time.time())
            if counted:
                window.used += 1
                self.counted += 1
            return self._headers(window)

    def _headers(self, window: _Window) -> list[tuple[str, str]]:
        assert self.limit is not None
        reset = math.ceil(window.started + self.window_seconds)
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(max(0, self.limit - window.used))),
            ("x-ratelimit-reset", str(reset)),
            ("x-ratelimit-used", str(window.used)),
            ("x-ratelimit-resource", "core"),
        ]
