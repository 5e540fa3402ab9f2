"""Typed settings from PULLPOLICY_* environment variables, shared by the receiver and workers.

Secrets are SecretStr: they never show in reprs, logs or error messages.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from workers.runtime.app_credentials import CredentialsError, load_credentials
from workers.runtime.sqlite_queue import FILENAME as EMBEDDED_QUEUE_FILENAME
from workers.runtime.sqlite_queue import broker_url as embedded_broker_url

PREFIX = "PULLPOLICY_"
DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_GITHUB_WEB = "https://github.com"


class SettingsError(Exception):
    pass


class Settings(BaseModel):
    # Each field's docstring is its description: docs/settings.md is generated from them.
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    github_app_id: int | None = None
    """The GitHub App's numeric id."""
    github_private_key: SecretStr | None = None
    """The GitHub App's private key: PEM text, or the path of a PEM file."""
    github_webhook_secret: SecretStr | None = None
    """The GitHub App's webhook secret: every delivery to `/webhooks/github` must carry its
    HMAC-SHA256 signature."""
    github_api_url: str = DEFAULT_GITHUB_API
    """GitHub API root; GitHub Enterprise Server: `https://HOST/api/v3`."""
    github_token: SecretStr | None = None
    """A token instead of an App, for one-shot `pullpolicy scan`."""
    github_web_url: str | None = None
    """Where people register and install Apps; unset: derived from the API URL."""
    public_url: str | None = None
    """The URL GitHub and browsers reach this server at (`/setup` builds the App's webhook and
    redirect URLs from it); unset: taken from each request (right unless behind a proxy)."""
    github_seconds_between_requests: float = 0.25
    """Pause between two GitHub API requests of one worker (client-side pacing GitHub asks
    integrators for)."""
    github_seconds_between_writes: float = 1.0
    """Pause between two GitHub write requests (commits, pull requests, comments, checks)."""
    forge_read_retries: int = 3
    """Retries of idempotent reads on 5xx answers and connection errors."""
    gitlab_url: str | None = None
    """GitLab instance, e.g. `https://gitlab.com` (without `/api/v4`)."""
    gitlab_token: SecretStr | None = None
    """GitLab access token with the `api` scope (see the README's GitLab setup)."""
    gitlab_webhook_secret: SecretStr | None = None
    """The GitLab webhook's secret token: every delivery to `/webhooks/gitlab` must carry it in
    `X-Gitlab-Token`."""
    broker_url: str | None = None
    """Celery broker, `redis://...` or `amqp://...`; unset: the embedded SQLite queue in the
    data dir (`pullpolicy serve` then starts a worker beside the receiver)."""
    redis_url: str | None = None
    """Shared state (delivery dedupe, locks, marks, metric totals), `redis://...`; unset: a
    SQLite file in the data dir, which only processes on the same machine can share."""
    data_dir: Path = Path(".pullpolicy-data")
    """Directory of the embedded queue (`queue.sqlite`), without Redis of the shared state
    (`state.sqlite`), and of the App stored by `/setup` (`github-app.json`)."""
    insecure_no_webhook_secret: bool = False
    """Accept webhooks without a secret, unverified (a warning is logged): local development
    only."""
    max_scans_per_installation: int = 4
    """Concurrent scans of one GitHub App installation."""
    scan_lock_seconds: int = 600
    """A scan holding its repository's lock longer is presumed dead (its task is redelivered)."""
    scan_time_limit_seconds: int = Field(default=300, ge=1)
    """A scan running longer is stopped: its repository lock is released and it is recorded
    as `timed-out`, not retried. A scan that does not stop is killed
    `scan_time_limit_grace_seconds` later. Their sum must stay below `scan_lock_seconds`
    (checked at start), so a lock never expires under a running scan."""
    scan_time_limit_grace_seconds: int = Field(default=30, ge=1)
    """How long a timed-out scan may take to stop before its worker process is killed."""
    busy_retry_seconds: float = 15.0
    """Wait before retrying a scan whose repository is being scanned already."""
    installation_scan_spacing_seconds: float = Field(default=10.0, ge=0)
    """Seconds between the initial scans queued for one installation: spreads a many-repository
    installation over time instead of spending the installation's API rate limit at once."""
    pace_on_rate_limits: bool = True
    """Pace scans on the forge's rate-limit headers (workers.tasks.pacing); off, a scan only
    reacts to a 403/429 once it has had one. For forges without rate limits."""
    pacing_spread_seconds: float = Field(default=60.0, ge=0)
    """Scans paced for an exhausted rate-limit window restart at its reset plus a random wait of
    up to this long, so that they do not all start at once."""

    @property
    def embedded_queue(self) -> bool:
        return self.broker_url is None

    @property
    def effective_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return embedded_broker_url(self.data_dir / EMBEDDED_QUEUE_FILENAME)

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
        problems = "; ".join(_problem(e) for e in error.errors())
        raise SettingsError(f"invalid settings: {problems}") from None
    _check_lock_outlives_scans(settings)
    return with_stored_github_app(settings)


def _check_lock_outlives_scans(settings: Settings) -> None:
    """A repository lock (and the embedded queue's lease) that expired while its scan still ran
    would let a second worker scan the same repository at the same time."""
    longest = settings.scan_time_limit_seconds + settings.scan_time_limit_grace_seconds
    if settings.scan_lock_seconds <= longest:
        raise SettingsError(
            f"invalid settings: {PREFIX}SCAN_LOCK_SECONDS ({settings.scan_lock_seconds}) must "
            f"exceed {PREFIX}SCAN_TIME_LIMIT_SECONDS + {PREFIX}SCAN_TIME_LIMIT_GRACE_SECONDS "
            f"({longest}): a scan still running when its lock expires could run twice at once"
        )


def _problem(error: ErrorDetails) -> str:
    name = f"{PREFIX}{'_'.join(str(part) for part in error['loc']).upper()}"
    if error["type"] != "extra_forbidden":
        return f"{name}: {error['msg']}"
    return f"{name}: {unknown_setting(name)}"


def unknown_setting(name: str) -> str:
    """Why PULLPOLICY_<name> is refused: a did-you-mean, as for `.pullpolicy.yml` keys."""
    known = [f"{PREFIX}{field.upper()}" for field in Settings.model_fields]
    # Dashes and case do not matter to a typo: PULLPOLICY_github-app-id finds its match.
    close = difflib.get_close_matches(name.upper().replace("-", "_"), known, n=1, cutoff=0.75)
    if close:
        return f"unknown setting, did you mean {close[0]}?"
    return "unknown setting (the settings are listed in docs/settings.md)"


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
