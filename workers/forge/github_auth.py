"""GitHub credentials: App JWTs, installation tokens cached until shortly before expiry, and the
PyGithub `Auth` that puts the current token on every request.

Installation tokens are minted with a plain `requests` session rather than through PyGithub,
because PyGithub logs response bodies at DEBUG level and the minting response *is* the token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import jwt
import requests
from github.Auth import Auth

from workers.forge.common import utc_now
from workers.forge.errors import http_error, transport_error
from workers.forge.github_api import USER_AGENT

# GitHub refuses App JWTs living longer than ten minutes; backdating absorbs clock drift.
JWT_LIFETIME = timedelta(minutes=9)
JWT_BACKDATE = timedelta(seconds=60)
# Mint a fresh installation token this long before the old one expires (they live an hour).
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)


def app_jwt(app_id: int, private_key: str | bytes, now: datetime) -> str:
    """An RS256 JWT identifying the App itself (used only to mint installation tokens)."""
    claims = {
        "iat": int((now - JWT_BACKDATE).timestamp()),
        "exp": int((now + JWT_LIFETIME).timestamp()),
        "iss": str(app_id),
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


class AppInstallationTokens:
    """Installation tokens of one GitHub App, minted on demand and reused while fresh.

    `clock` decides freshness (tests move it); JWTs always use the real time because GitHub
    checks them against its own clock. `on_request` is told about every HTTP request made.
    """

    def __init__(
        self,
        app_id: int,
        private_key: str | bytes,
        *,
        base_url: str,
        timeout: float,
        on_request: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._app_id = app_id
        self._private_key = private_key
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._on_request = on_request
        self._clock = clock
        self._session = requests.Session()
        self._tokens: dict[int, _Token] = {}
        self._installations: dict[str, int] = {}
        self._lock = threading.Lock()

    def token(self, installation_id: int) -> str:
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is None or cached.expires_at - TOKEN_REFRESH_MARGIN <= self._clock():
                cached = self._mint(installation_id)
                self._tokens[installation_id] = cached
            return cached.value

    def invalidate(self, installation_id: int) -> None:
        """Forget a token the forge refused (401), so the next request mints a new one."""
        with self._lock:
            self._tokens.pop(installation_id, None)

    def installation_id(self, full_name: str) -> int:
        """The installation of this App that covers `full_name` (looked up once)."""
        if full_name not in self._installations:
            data = self._app_request("GET", f"/repos/{quote(full_name)}/installation")
            self._installations[full_name] = int(data["id"])
        return self._installations[full_name]

    def _mint(self, installation_id: int) -> _Token:
        data = self._app_request("POST", f"/app/installations/{installation_id}/access_tokens")
        return _Token(str(data["token"]), datetime.fromisoformat(str(data["expires_at"])))

    def _app_request(self, verb: str, path: str) -> dict[str, Any]:
        operation = f"{verb} {path}"
        headers = {
            "Authorization": f"Bearer {app_jwt(self._app_id, self._private_key, utc_now())}",
            "Accept": "application/vnd.github+json",
            "User-Agent": USER_AGENT,
        }
        self._on_request()
        try:
            response = self._session.request(
                verb, self._base_url + path, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise transport_error("github", operation, exc) from exc
        data = _json_or_empty(response)
        if response.status_code >= 400:
            message = str(data.get("message", response.reason))
            raise http_error(
                "github", operation, response.status_code, response.headers, message, self._clock()
            )
        return data


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class CountingTokenAuth(Auth):
    """PyGithub auth reading the current token from `source` and counting every request.

    PyGithub calls `authentication` exactly once per request it sends, which makes it the one
    place that sees every call, including the lazy completions PyGithub makes on its own.
    """

    def __init__(self, source: Callable[[], str], on_request: Callable[[], None]) -> None:
        self._source = source
        self._on_request = on_request

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._source()

    def authentication(self, headers: dict[str, Any]) -> None:
        super().authentication(headers)  # may mint a token first: that request counts itself
        self._on_request()

    @property
    def _masked_token(self) -> str:
        return "token (removed)"
