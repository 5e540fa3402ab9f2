"""The last step of GitHub's manifest flow: `POST /app-manifests/{code}/conversions`.

Unauthenticated; the code works once and expires an hour after GitHub issued it. The answer
holds the App's private key, webhook secret and client secret: nothing of the response body
reaches an exception message, a log line or a page.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from workers import __version__
from workers.runtime.app_credentials import AppCredentials

TIMEOUT_SECONDS = 15.0
CODE_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,200}")


class ConversionError(Exception):
    """The exchange failed. `message` is safe to show; `status` is GitHub's (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_valid_code(code: str) -> bool:
    return CODE_PATTERN.fullmatch(code) is not None


def convert(api_url: str, code: str, *, timeout: float = TIMEOUT_SECONDS) -> AppCredentials:
    """The new App's credentials for `code`; ConversionError when GitHub says no."""
    url = f"{api_url.rstrip('/')}/app-manifests/{quote(code, safe='')}/conversions"
    request = urllib.request.Request(  # noqa: S310 (the configured GitHub API URL)
        url,
        data=b"",
        method="POST",
        headers={
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"pullpolicy/{__version__}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            body = response.read()
    except urllib.error.HTTPError as error:
        error.close()
        raise ConversionError(_refusal(error.code), error.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise ConversionError(f"could not reach GitHub ({type(error).__name__})") from None
    if status != 201:
        raise ConversionError(_refusal(status), status)
    return parse_conversion(body)


def _refusal(status: int) -> str:
    if status in (404, 422):
        return (
            f"GitHub did not accept the setup code (HTTP {status}): a code works once and "
            "expires an hour after the App was created"
        )
    return f"GitHub answered HTTP {status}"


def parse_conversion(body: bytes) -> AppCredentials:
    """The credentials in a 201 answer; ConversionError (naming no value) when incomplete."""
    try:
        data = json.loads(body)
        owner = data.get("owner") or {}
        secrets = {key: data[key] for key in ("pem", "webhook_secret", "client_secret")}
        values: dict[str, Any] = {
            "app_id": int(data["id"]),
            "slug": str(data["slug"]),
            "name": str(data.get("name") or data["slug"]),
            "html_url": str(data["html_url"]),
            "owner": str(owner.get("login", "")),
            "client_id": str(data["client_id"]),
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConversionError("GitHub's answer lacks the App's id, slug or keys") from None
    if not isinstance(secrets["pem"], str) or "-----BEGIN" not in secrets["pem"]:
        raise ConversionError("GitHub's answer holds no private key")
    if not isinstance(secrets["webhook_secret"], str) or not secrets["webhook_secret"]:
        # Without it deliveries could not be verified: never run like that.
        raise ConversionError("GitHub's answer holds no webhook secret")
    if not isinstance(secrets["client_secret"], str):
        raise ConversionError("GitHub's answer holds no client secret")
    return AppCredentials(
        **values,
        pem=SecretStr(secrets["pem"]),
        webhook_secret=SecretStr(secrets["webhook_secret"]),
        client_secret=SecretStr(secrets["client_secret"]),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
