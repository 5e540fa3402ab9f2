"""Translate HTTP failures of either forge into the `ForgeError` family of `base`.

The rules work on plain (status, headers, message) so both adapters share them, and tests can
exercise them without a server. Messages name the operation and the forge's own message, never
request headers, so credentials cannot leak through them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from workers.forge.base import (
    Conflict,
    ForgeError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Transient,
)

# GitHub's advice when a secondary limit names no time: wait at least a minute.
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)
MAX_MESSAGE_CHARS = 300

# Phrases of rate-limit answers that arrive as a plain 403 (GitHub primary and secondary limits).
_RATE_LIMIT_PHRASES = (
    "api rate limit exceeded",
    "secondary rate limit",
    "please retry your request again later",
    "please wait a few minutes before you try again",
)
# Validation failures (GitHub 422, GitLab 400) that really mean "someone got there first".
_CONFLICT_PHRASES = (
    "already exists",
    "not a fast forward",
    "fast-forward",
    "reference cannot be updated",
)
# ... and the ones that mean the thing is gone (GitHub 422 "Reference does not exist").
_MISSING_PHRASES = ("does not exist", "doesn't exist")


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): str(value) for key, value in headers.items()}


def _epoch(value: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(float(value)), tz=UTC)
    except (ValueError, OverflowError):
        return None


def _retry_after(value: str, now: datetime) -> datetime | None:
    """`Retry-After` is either delta-seconds or an HTTP date."""
    try:
        return now + timedelta(seconds=max(0, int(value)))
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def retry_time(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a rate-limited request may be retried, from whichever header the forge sent.

    Precedence follows GitHub's documentation: `Retry-After` first, then an exhausted primary
    limit's `x-ratelimit-reset`
    (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit);
    GitLab sends `Retry-After` or `RateLimit-Reset`
    (https://docs.gitlab.com/security/rate_limits/#headers).
    """
    lowered = _lower_keys(headers)
    if "retry-after" in lowered and (when := _retry_after(lowered["retry-after"], now)):
        return when
    if lowered.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in lowered:
        return _epoch(lowered["x-ratelimit-reset"])
    if "ratelimit-reset" in lowered:
        return _epoch(lowered["ratelimit-reset"])
    return None


def is_rate_limited(status: int, headers: Mapping[str, str], message: str) -> bool:
    if status == 429:
        return True
    if status != 403:
        return False
    lowered = _lower_keys(headers)
    if lowered.get("x-ratelimit-remaining") == "0" or "retry-after" in lowered:
        return True
    return _mentions(message, _RATE_LIMIT_PHRASES)


def _mentions(message: str, phrases: tuple[str, ...]) -> bool:
    text = message.lower()
    return any(phrase in text for phrase in phrases)


def _short(message: str) -> str:
    message = " ".join(message.split())
    if len(message) > MAX_MESSAGE_CHARS:
        return message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message


def http_error(
    forge: str,
    operation: str,
    status: int,
    headers: Mapping[str, str],
    message: str,
    now: datetime,
) -> ForgeError:
    """The `ForgeError` for one failed HTTP answer; `operation` is e.g. "GET /repos/o/r"."""
    text = f"{forge} {operation} answered {status}: {_short(message) or 'no message'}"
    if is_rate_limited(status, headers, message):
        retry_at = retry_time(headers, now) or now + DEFAULT_RATE_LIMIT_WAIT
        return RateLimited(f"{text} (retry at {retry_at.isoformat()})", retry_at)
    if status in (401, 403):
        return PermissionDenied(text)
    if status in (404, 410):
        return NotFound(text)
    if status == 409:
        return Conflict(text)
    if status in (400, 422) and _mentions(message, _CONFLICT_PHRASES):
        return Conflict(text)
    if status in (400, 422) and _mentions(message, _MISSING_PHRASES):
        return NotFound(text)
    if status >= 500 or status == 408:
        return Transient(text)
    return ForgeError(text)


def transport_error(forge: str, operation: str, exc: BaseException) -> Transient:
    """A connection reset, refused connection or timeout: the request may not have arrived."""
    return Transient(f"{forge} {operation} failed: {type(exc).__name__}")
