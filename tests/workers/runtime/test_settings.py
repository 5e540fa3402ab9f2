"""PULLPOLICY_* settings: typed, typo-proof, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.runtime.settings import SettingsError, load_settings


def test_defaults_use_the_embedded_queue(tmp_path: Path) -> None:
    settings = load_settings({"PULLPOLICY_DATA_DIR": str(tmp_path)})
    assert settings.embedded_queue
    assert settings.effective_broker_url == (
        f"pullpolicy-sqlite://localhost/{tmp_path.resolve()}/queue.sqlite"
    )
    broker = load_settings({"PULLPOLICY_BROKER_URL": "redis://127.0.0.1:6379/0"})
    assert not broker.embedded_queue and broker.effective_broker_url.startswith("redis://")


def test_unknown_and_malformed_variables_are_errors() -> None:
    with pytest.raises(SettingsError, match="PULLPOLICY_GITHUB_APPID"):
        load_settings({"PULLPOLICY_GITHUB_APPID": "1"})
    with pytest.raises(SettingsError, match="PULLPOLICY_GITHUB_APP_ID"):
        load_settings({"PULLPOLICY_GITHUB_APP_ID": "one"})


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("PULLPOLICY_GITHUB_APPID", "unknown setting, did you mean PULLPOLICY_GITHUB_APP_ID?"),
        ("PULLPOLICY_GITLAB_TOKN", "unknown setting, did you mean PULLPOLICY_GITLAB_TOKEN?"),
        ("PULLPOLICY_github-app-id", "unknown setting, did you mean PULLPOLICY_GITHUB_APP_ID?"),
        ("PULLPOLICY_COLOUR", "unknown setting (the settings are listed in docs/settings.md)"),
    ],
)
def test_a_misspelt_variable_gets_a_did_you_mean(variable: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: "1"})
    shown = variable.upper()
    assert str(caught.value) == f"invalid settings: {shown}: {message}"


def test_the_repository_lock_must_outlive_the_longest_scan() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"PULLPOLICY_SCAN_TIME_LIMIT_SECONDS": "900"})  # the lock: 600 s
    assert str(caught.value) == (
        "invalid settings: PULLPOLICY_SCAN_LOCK_SECONDS (600) must exceed "
        "PULLPOLICY_SCAN_TIME_LIMIT_SECONDS + PULLPOLICY_SCAN_TIME_LIMIT_GRACE_SECONDS (930): "
        "a scan still running when its lock expires could run twice at once"
    )
    settings = load_settings(
        {"PULLPOLICY_SCAN_LOCK_SECONDS": "20", "PULLPOLICY_SCAN_TIME_LIMIT_SECONDS": "14"}
        | {"PULLPOLICY_SCAN_TIME_LIMIT_GRACE_SECONDS": "5"}
    )
    assert settings.scan_lock_seconds == 20


def test_secrets_never_show(tmp_path: Path) -> None:
    settings = load_settings(
        {"PULLPOLICY_GITHUB_WEBHOOK_SECRET": "s3cret-hook", "PULLPOLICY_GITLAB_TOKEN": "glpat-x1"}
    )
    assert "s3cret-hook" not in repr(settings) and "glpat-x1" not in str(settings)


def test_private_key_as_text_or_path(tmp_path: Path) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n"
    assert load_settings({"PULLPOLICY_GITHUB_PRIVATE_KEY": pem}).github_private_key_pem() == pem
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    from_file = load_settings({"PULLPOLICY_GITHUB_PRIVATE_KEY": str(key_file)})
    assert from_file.github_private_key_pem() == pem
    missing = load_settings({"PULLPOLICY_GITHUB_PRIVATE_KEY": str(tmp_path / "nope.pem")})
    with pytest.raises(SettingsError, match="neither PEM text nor a readable file"):
        missing.github_private_key_pem()
