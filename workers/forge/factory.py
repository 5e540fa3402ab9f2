"""The one place that chooses and builds a forge adapter from settings."""

from __future__ import annotations

from workers.forge.base import ReviewForge
from workers.forge.github import GitHubForge
from workers.forge.gitlab import GitLabForge
from workers.runtime.settings import PREFIX, Settings, SettingsError


def open_forge(settings: Settings, forge: str) -> ReviewForge:
    if forge == "github":
        return _github(settings)
    if forge == "gitlab":
        return _gitlab(settings)
    raise SettingsError(f"unknown forge {forge!r} (expected 'github' or 'gitlab')")


def _github(settings: Settings) -> GitHubForge:
    key = settings.github_private_key_pem()
    app_id = settings.github_app_id if key is not None else None
    token = settings.github_token.get_secret_value() if settings.github_token else None
    if app_id is not None or token is not None:
        return GitHubForge(
            base_url=settings.github_api_url,
            app_id=app_id,
            private_key=key if app_id is not None else None,
            token=None if app_id is not None else token,
            seconds_between_requests=settings.github_seconds_between_requests,
            seconds_between_writes=settings.github_seconds_between_writes,
            retry=settings.forge_read_retries or None,
        )
    raise SettingsError(
        f"GitHub needs {PREFIX}GITHUB_APP_ID and {PREFIX}GITHUB_PRIVATE_KEY "
        f"(or {PREFIX}GITHUB_TOKEN for one-shot scans)"
    )


def _gitlab(settings: Settings) -> GitLabForge:
    if settings.gitlab_token is None:
        raise SettingsError(f"GitLab needs {PREFIX}GITLAB_TOKEN (and {PREFIX}GITLAB_URL)")
    if settings.gitlab_url is None:
        raise SettingsError(f"GitLab needs {PREFIX}GITLAB_URL (e.g. https://gitlab.com)")
    return GitLabForge(
        url=settings.gitlab_url,
        token=settings.gitlab_token.get_secret_value(),
        retry_transient_errors=settings.forge_read_retries > 0,
        max_retries=settings.forge_read_retries,
    )
