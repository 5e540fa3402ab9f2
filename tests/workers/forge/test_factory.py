"""The forge factory (workers/forge/factory.py): each forge built from settings, and the
settings errors that say what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakeforge import FakeForge
from workers.forge.base import RepoRef
from workers.forge.factory import open_forge
from workers.forge.github import GitHubForge
from workers.forge.gitlab import GitLabForge
from workers.runtime.settings import SettingsError, load_settings

TOKEN = "glpat-factory-secret"
REPO = "acme/deploys"


def test_gitlab_is_built_from_its_url_and_token(fake_forge: FakeForge, tmp_path: Path) -> None:
    fake_forge.add_token(TOKEN)
    fake_forge.create_repo(REPO, {"pod.yaml": "kind: Pod\n"})
    settings = load_settings(
        {
            "PULLPOLICY_GITLAB_URL": fake_forge.gitlab_url,
            "PULLPOLICY_GITLAB_TOKEN": TOKEN,
            "PULLPOLICY_DATA_DIR": str(tmp_path),
        }
    )
    forge = open_forge(settings, "gitlab")
    assert isinstance(forge, GitLabForge)
    assert forge.name == "gitlab"
    # The URL and the token reached the adapter: it reads the repository with them.
    ref = RepoRef("gitlab", REPO, None)
    _, sha = forge.default_branch(ref)
    assert [entry.path for entry in forge.list_files(ref, sha)] == ["pod.yaml"]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"PULLPOLICY_GITLAB_URL": "https://gitlab.example"},
            "GitLab needs PULLPOLICY_GITLAB_TOKEN (and PULLPOLICY_GITLAB_URL)",
        ),
        ({}, "GitLab needs PULLPOLICY_GITLAB_TOKEN (and PULLPOLICY_GITLAB_URL)"),
        (
            {"PULLPOLICY_GITLAB_TOKEN": TOKEN},
            "GitLab needs PULLPOLICY_GITLAB_URL (e.g. https://gitlab.com)",
        ),
    ],
)
def test_gitlab_settings_errors_name_the_missing_variable(
    environ: dict[str, str], message: str, tmp_path: Path
) -> None:
    settings = load_settings({**environ, "PULLPOLICY_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError) as caught:
        open_forge(settings, "gitlab")
    assert str(caught.value) == message
    assert TOKEN not in str(caught.value)


def test_github_needs_an_app_or_a_token(tmp_path: Path) -> None:
    settings = load_settings({"PULLPOLICY_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError) as caught:
        open_forge(settings, "github")
    assert str(caught.value) == (
        "GitHub needs PULLPOLICY_GITHUB_APP_ID and PULLPOLICY_GITHUB_PRIVATE_KEY"
        " (or PULLPOLICY_GITHUB_TOKEN for one-shot scans)"
    )
    with_token = load_settings(
        {"PULLPOLICY_DATA_DIR": str(tmp_path), "PULLPOLICY_GITHUB_TOKEN": "ghp-x"}
    )
    assert isinstance(open_forge(with_token, "github"), GitHubForge)


def test_an_unknown_forge_is_a_settings_error(tmp_path: Path) -> None:
    settings = load_settings({"PULLPOLICY_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError) as caught:
        open_forge(settings, "bitbucket")
    assert str(caught.value) == "unknown forge 'bitbucket' (expected 'github' or 'gitlab')"
