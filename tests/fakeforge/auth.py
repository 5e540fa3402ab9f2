"""Who is calling: personal tokens, GitHub App JWTs and the installation tokens they mint."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

# GitHub refuses App JWTs that live longer than ten minutes; clocks may drift by a minute.
MAX_JWT_LIFETIME_SECONDS = 600
CLOCK_DRIFT_SECONDS = 60
INSTALLATION_TOKEN_LIFETIME = timedelta(hours=1)


class AuthError(Exception):
    """The credentials were refused; the message is safe to show (it never holds the secret)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `repos` is None when every repository is visible."""

    kind: str  # "user" | "installation" | "app"
    login: str
    repos: frozenset[str] | None = None
    app_id: int | None = None
    installation_id: int | None = None

    def can_see(self, full_name: str) -> bool:
        return self.kind != "app" and (self.repos is None or full_name in self.repos)


@dataclass
class InstallationToken:
    principal: Principal
    expires_at: datetime
    revoked: bool = False


@dataclass
class Installation:
    id: int
    repos: tuple[str, ...]
    app_id: int | None = None  # bound to the first App that asks for a token


@dataclass
class AuthRegistry:
    user_tokens: dict[str, str] = field(default_factory=dict)  # token -> login
    app_keys: dict[int, bytes] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    installation_tokens: dict[str, InstallationToken] = field(default_factory=dict)

    def add_token(self, token: str, login: str) -> None:
        self.user_tokens[token] = login

    def register_app(self, app_id: int, public_key_pem: bytes) -> None:
        load_pem_public_key(public_key_pem)  # fail at registration, not at the first request
        self.app_keys[app_id] = public_key_pem

    def add_installation(self, installation_id: int, full_names: Sequence[str]) -> None:
        self.installations[installation_id] = Installation(installation_id, tuple(full_names))

    def installation_for_repo(self, full_name: str) -> Installation | None:
        for installation in self.installations.values():
            if full_name in installation.repos:
                return installation
        return None

    def expire_tokens(self) -> None:
        for token in self.installation_tokens.values():
            token.revoked = True

    def authenticate(self, credential: str) -> Principal:
        """Resolve a bearer/token/private-token credential to its principal."""
        if credential in self.user_tokens:
            return Principal("user", self.user_tokens[credential])
        minted = self.installation_tokens.get(credential)
        if minted is not None:
            if minted.revoked or minted.expires_at <= datetime.now(UTC):
                raise AuthError("Bad credentials")
            return minted.principal
        if credential.count(".") == 2:
            return self._verify_app_jwt(credential)
        raise AuthError("Bad credentials")

    def rate_budget(self, credential: str) -> str:
        """Whose primary rate limit a request spends: every token minted for one installation
        shares the installation's (GitHub counts per installation, not per token); any other
        credential spends its own.
        https://docs.github.com/en/apps/creating-github-apps/registering-a-github-app/rate-limits-for-github-apps"""
        minted = self.installation_tokens.get(credential)
        if minted is not None and minted.principal.installation_id is not None:
            return f"installation:{minted.principal.installation_id}"
        return f"credential:{credential}"

    def _verify_app_jwt(self, encoded: str) -> Principal:
        try:
            unverified = jwt.decode(encoded, options={"verify_signature": False})
            app_id = int(str(unverified.get("iss")))
        except (jwt.PyJWTError, ValueError) as error:
            raise AuthError("A JSON web token could not be decoded") from error
        key = self.app_keys.get(app_id)
        if key is None:
            raise AuthError("Integration not found")
        try:
            claims = jwt.decode(
                encoded,
                key,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise AuthError("'Expiration time' claim ('exp') must be a future time") from error
        except jwt.PyJWTError as error:
            raise AuthError("A JSON web token could not be decoded") from error
        now = time.time()
        if int(claims["iat"]) > now + CLOCK_DRIFT_SECONDS:
            raise AuthError("'Issued at' claim ('iat') must be an Integer representing the time")
        if int(claims["exp"]) > now + MAX_JWT_LIFETIME_SECONDS + CLOCK_DRIFT_SECONDS:
            raise AuthError("'Expiration time' claim ('exp') is too far in the future")
        return Principal("app", f"app-{app_id}", app_id=app_id)

    def mint_installation_token(self, app: Principal, installation_id: int) -> tuple[str, datetime]:
        installation = self.installations[installation_id]
        installation.app_id = installation.app_id or app.app_id
        token = "ghs_" + secrets.token_urlsafe(27)
        expires_at = datetime.now(UTC).replace(microsecond=0) + INSTALLATION_TOKEN_LIFETIME
        principal = Principal(
            "installation",
            f"app-{app.app_id}[bot]",
            repos=frozenset(installation.repos),
            app_id=app.app_id,
            installation_id=installation_id,
        )
        self.installation_tokens[token] = InstallationToken(principal, expires_at)
        return token, expires_at
