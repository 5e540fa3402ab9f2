"""Typed settings from PULLPOLICY_* environment variables, shared by the receiver and workers.

Secrets are SecretStr: they never show in reprs, logs or error messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from workers.app_credentials import CredentialsError, load_credentials

PREFIX = "PULLPOLICY_"
DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_GITHUB_WEB = "https://github.com"


class SettingsError(Exception):
    pass


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    github_app_id: int | None = None
    github_private_key: SecretStr | None = None  # PEM text, or a path to a PEM file
    github_webhook_secret: SecretStr | None = None
    github_api_url: str = DEFAULT_GITHUB_API
    github_token: SecretStr | None = None  # instead of an App: for one-shot `pullpolicy scan`
    # Where people register and install Apps; unset: derived from github_api_url.
    github_web_url: str | None = None
    # The URL GitHub and browsers reach this server at (/setup builds the App's webhook and
    # redirect URLs from it); unset: taken from each request (right unless behind a proxy).
    public_url: str | None = None
    # Client-side pacing GitHub asks integrators for; tests on the local forge set both to 0.
    github_seconds_between_requests: float = 0.25
    github_seconds_between_writes: float = 1.0
    forge_read_retries: int = 3  # retries of idempotent reads on 5xx / connection errors
    gitlab_url: str | None = None
    gitlab_token: SecretStr | None = None
    gitlab_webhook_secret: SecretStr | None = None
    broker_url: str | None = None  # unset: the embedded on-disk queue under data_dir
    redis_url: str | None = None  # dedupe and locks; unset: files under data_dir
    data_dir: Path = Path(".pullpolicy-data")
    insecure_no_webhook_secret: bool = False  # local development only
    max_scans_per_installation: int = 4  # concurrent scans of one GitHub App installation
    scan_lock_seconds: int = 600  # a scan holding its repository lock longer is presumed dead
    busy_retry_seconds: float = 15.0  # wait before retrying a scan whose repository is busy
    installation_scan_spacing_seconds: float = Field(default=10.0, ge=0)
    """Seconds between the initial scans queued for one installation: spreads a many-repository
    installation over time instead of spending the installation's API rate limit at once."""

    @property
    def embedded_queue(self) -> bool:
        return self.broker_url is None

    @property
    def effective_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return f"sqla+sqlite:///{(self.data_dir / 'queue.sqlite').resolve()}"

    @property
    def effective_github_web_url(self) -> str:
        """github.com for api.github.com; https://HOST for Enterprise Server's
        https://HOST/api/v3; https://NAME.ghe.com for https://api.NAME.ghe.com."""
        if self.github_web_url:
            return self.github_web_url.rstrip("/")
        api = self.github_api_url.rstrip("/")
        if api == DEFAULT_GITHUB_API:
            return DEFAULT_GITHUB_WEB
        parts = urlsplit(api)
        if parts.path.endswith("/api/v3"):
            return urlunsplit((parts.scheme, parts.netloc, parts.path[: -len("/api/v3")], "", ""))
        host = parts.netloc.removeprefix("api.")
        return urlunsplit((parts.scheme, host, "", "", ""))

    @property
    def github_app_configured(self) -> bool:
        return any((self.github_app_id, self.github_private_key, self.github_webhook_secret))

    def github_private_key_pem(self) -> str | None:
        if self.github_private_key is None:
            return None
        value = self.github_private_key.get_secret_value()
        if "-----BEGIN" in value:
            return value
        try:
            return Path(value).read_text()
        except OSError as error:
            raise SettingsError(
                f"{PREFIX}GITHUB_PRIVATE_KEY is neither PEM text nor a readable file "
                f"({error.strerror})"
            ) from None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; unknown PULLPOLICY_* variables are errors (typos)."""
    environ = os.environ if environ is None else environ
    values = {
        key[len(PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(PREFIX) and value != ""
    }
    try:
        settings = Settings.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{PREFIX}{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
    return with_stored_github_app(settings)


def with_stored_github_app(settings: Settings) -> Settings:
    """The GitHub App that /setup stored in the data dir fills in the App settings, unless the
    environment sets any of them: then the environment wins, whole."""
    if settings.github_app_configured:
        return settings
    try:
        stored = load_credentials(settings.data_dir)
    except CredentialsError as error:
        raise SettingsError(str(error)) from None
    if stored is None:
        return settings
    return settings.model_copy(
        update={
            "github_app_id": stored.app_id,
            "github_private_key": stored.pem,
            "github_webhook_secret": stored.webhook_secret,
        }
    )
