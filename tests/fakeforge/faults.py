"""Scheduled failures and slowdowns for the next API requests."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: int | None = None
    ratelimit_reset: int | None = None
    body: str | None = None


class FaultSchedule:
    """A queue each API request pops at most one failure and one delay from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: deque[Fault] = deque()
        self._delays: deque[float] = deque()

    def fail_next(self, count: int, fault: Fault) -> None:
        with self._lock:
            self._failures.extend([fault] * count)

    def slow_next(self, count: int, seconds: float) -> None:
        with self._lock:
            self._delays.extend([seconds] * count)

    def take(self) -> tuple[Fault | None, float]:
        with self._lock:
            fault = self._failures.popleft() if self._failures else None
            delay = self._delays.popleft() if self._delays else 0.0
        return fault, delay
