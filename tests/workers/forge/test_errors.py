"""The rules that turn forge HTTP answers into the ForgeError family."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.forge.base import (
    Conflict,
    ForgeError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Transient,
)
from workers.forge.errors import (
    DEFAULT_RATE_LIMIT_WAIT,
    MAX_MESSAGE_CHARS,
    http_error,
    retry_time,
    transport_error,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
RESET = 1_900_000_000  # an epoch second after NOW


def error(status: int, headers: dict[str, str] | None = None, message: str = "") -> ForgeError:
    return http_error("github", "GET /x", status, headers or {}, message, NOW)


def test_github_primary_limit_retries_at_the_reset_time() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)}
    err = error(403, headers, "API rate limit exceeded for installation ID 1.")
    assert isinstance(err, RateLimited)
    assert err.retry_at == datetime.fromtimestamp(RESET, tz=UTC)


def test_secondary_limit_with_retry_after_waits_that_long() -> None:
    err = error(403, {"Retry-After": "90"}, "You have exceeded a secondary rate limit.")
    assert isinstance(err, RateLimited)
    assert err.retry_at == NOW + timedelta(seconds=90)


def test_retry_after_wins_over_the_primary_reset() -> None:
    headers = {"retry-after": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(RESET)}
    assert retry_time(headers, NOW) == NOW + timedelta(seconds=5)


def test_secondary_limit_without_headers_waits_the_default() -> None:
    err = error(403, {}, "You have exceeded a secondary rate limit. Please wait a few minutes.")
    assert isinstance(err, RateLimited)
    assert err.retry_at == NOW + DEFAULT_RATE_LIMIT_WAIT


def test_gitlab_429_uses_ratelimit_reset() -> None:
    err = http_error("gitlab", "GET /x", 429, {"RateLimit-Reset": str(RESET)}, "Retry later", NOW)
    assert isinstance(err, RateLimited)
    assert err.retry_at == datetime.fromtimestamp(RESET, tz=UTC)


def test_retry_after_may_be_an_http_date() -> None:
    headers = {"Retry-After": "Wed, 02 Jan 2030 03:05:00 GMT"}
    assert retry_time(headers, NOW) == datetime(2030, 1, 2, 3, 5, tzinfo=UTC)


def test_a_remaining_quota_is_not_a_rate_limit() -> None:
    headers = {"x-ratelimit-remaining": "17", "x-ratelimit-reset": str(RESET)}
    err = error(403, headers, "Resource not accessible by integration")
    assert type(err) is PermissionDenied


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "Bad credentials", PermissionDenied),
        (404, "Not Found", NotFound),
        (409, "Conflict", Conflict),
        (422, "Reference already exists", Conflict),
        (422, "Update is not a fast forward", Conflict),
        (422, "Validation Failed (A pull request already exists for o:b.)", Conflict),
        (422, "Reference does not exist", NotFound),
        (400, "A file with this name doesn't exist", NotFound),
        (400, "A branch called 'x' already exists", Conflict),
        (422, "Invalid request: title is missing", ForgeError),
        (500, "Internal Server Error", Transient),
        (502, "", Transient),
        (503, "", Transient),
    ],
)
def test_status_translation(status: int, message: str, expected: type[ForgeError]) -> None:
    assert type(error(status, message=message)) is expected


def test_message_names_forge_operation_and_status_and_is_bounded() -> None:
    err = error(500, message="x" * 5000)
    text = str(err)
    assert text.startswith("github GET /x answered 500: ")
    assert len(text) < MAX_MESSAGE_CHARS + 50


def test_transport_errors_are_transient_and_quote_only_the_exception_type() -> None:
    err = transport_error("gitlab", "GET /projects/1", ConnectionResetError("secret-ish detail"))
    assert isinstance(err, Transient)
    assert "secret-ish" not in str(err)
    assert "ConnectionResetError" in str(err)
