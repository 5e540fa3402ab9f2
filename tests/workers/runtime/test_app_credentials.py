"""The GitHub App that /setup stores: written 0600 and atomically, never replaced, refused when
others can read it, merged into settings unless the environment configures the App, and
picked up by a running worker."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.fakeforge.app_keys import AppKey
from workers.forge.github import GitHubForge
from workers.runtime.app_credentials import (
    AppCredentials,
    CredentialsError,
    CredentialsExist,
    credentials_path,
    load_credentials,
    store_credentials,
)
from workers.runtime.settings import Settings, SettingsError, load_settings
from workers.runtime.state import RedisState, SqliteState, State
from workers.tasks.scan_task import Worker

PEM_BODY = "MIIEpAIBAAKCAQEAsecretkeymaterial"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n"


def credentials(app_id: int = 42, pem: str = PEM) -> AppCredentials:
    return AppCredentials(
        app_id=app_id,
        slug="pullpolicy",
        name="pullpolicy",
        html_url="https://github.com/apps/pullpolicy",
        owner="acme",
        client_id="Iv23liabc",
        client_secret=SecretStr("client-secret-value"),
        webhook_secret=SecretStr("webhook-secret-value"),
        pem=SecretStr(pem),
        created_at="2026-01-01T00:00:00+00:00",
    )


def test_stored_0600_in_a_0700_directory_and_read_back(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    path = store_credentials(data_dir, credentials())
    assert path == credentials_path(data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    loaded = load_credentials(data_dir)
    assert loaded == credentials()
    assert "webhook-secret-value" not in repr(loaded) and PEM_BODY not in str(loaded)
    assert [p.name for p in data_dir.iterdir()] == ["github-app.json"]  # no temporary left


def test_an_existing_configuration_is_never_replaced(tmp_path: Path) -> None:
    store_credentials(tmp_path, credentials(app_id=1))
    with pytest.raises(CredentialsExist):
        store_credentials(tmp_path, credentials(app_id=2))
    loaded = load_credentials(tmp_path)
    assert loaded is not None and loaded.app_id == 1


def test_racing_setups_store_exactly_one(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)

    def attempt(app_id: int) -> bool:
        barrier.wait()
        try:
            store_credentials(tmp_path, credentials(app_id=app_id))
        except CredentialsExist:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count(True) == 1
    winner = results.index(True)
    loaded = load_credentials(tmp_path)
    assert loaded is not None and loaded.app_id == winner
    assert sorted(p.name for p in tmp_path.iterdir()) == ["github-app.json"]


def test_a_file_others_can_read_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = store_credentials(tmp_path, credentials())
    os.chmod(path, 0o644)
    with pytest.raises(CredentialsError, match="chmod 600") as caught:
        load_credentials(tmp_path)
    assert PEM_BODY not in str(caught.value)
    os.chmod(path, 0o600)
    path.write_text('{"app_id": 1, "pem": "' + PEM_BODY + '"}')
    with pytest.raises(CredentialsError, match="not a valid credentials file") as invalid:
        load_credentials(tmp_path)
    assert PEM_BODY not in str(invalid.value)


def test_settings_take_the_stored_app_unless_the_environment_sets_one(tmp_path: Path) -> None:
    environ = {"PULLPOLICY_DATA_DIR": str(tmp_path)}
    assert load_settings(environ).github_app_id is None
    store_credentials(tmp_path, credentials(app_id=42))
    merged = load_settings(environ)
    assert merged.github_app_id == 42
    assert merged.github_private_key_pem() == PEM
    secret = merged.github_webhook_secret
    assert secret is not None and secret.get_secret_value() == "webhook-secret-value"
    # Any GitHub App variable in the environment: the environment wins, whole.
    only_secret = load_settings({**environ, "PULLPOLICY_GITHUB_WEBHOOK_SECRET": "env-secret"})
    assert only_secret.github_app_id is None and only_secret.github_private_key is None
    env_app = load_settings({**environ, "PULLPOLICY_GITHUB_APP_ID": "7"})
    assert env_app.github_app_id == 7 and env_app.github_webhook_secret is None
    os.chmod(credentials_path(tmp_path), 0o640)
    with pytest.raises(SettingsError, match="readable by other users"):
        load_settings(environ)


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://127.0.0.1:8080/api/v3", "http://127.0.0.1:8080"),
    ],
)
def test_github_web_url_is_derived_from_the_api_url(api: str, web: str) -> None:
    assert Settings(github_api_url=api).effective_github_web_url == web
    explicit = Settings(github_api_url=api, github_web_url="https://web.example.com/")
    assert explicit.effective_github_web_url == "https://web.example.com"


def test_a_running_worker_picks_up_the_app_stored_by_setup(tmp_path: Path, app_key: AppKey) -> None:
    worker = Worker(Settings(data_dir=tmp_path))  # started before setup: no GitHub App
    with pytest.raises(SettingsError, match="PULLPOLICY_GITHUB_APP_ID"):
        worker.forge("github")
    store_credentials(tmp_path, credentials(app_id=99, pem=app_key.private_pem))
    assert isinstance(worker.forge("github"), GitHubForge)


# --- State.consume: single-use tokens (/setup's state) -----------------------------------


@pytest.fixture(params=["sqlite", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[State]:
    opened: State
    if request.param == "redis":
        opened = RedisState(request.getfixturevalue("redis_url"))
    else:
        opened = SqliteState(tmp_path / "state.sqlite")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from tests.bot.redis_service import redis_url_fixture

    yield from redis_url_fixture()


def test_a_claim_is_consumed_once_and_never_when_expired_or_unknown(state: State) -> None:
    namespace = f"test-consume-{os.getpid()}-{id(state)}"
    assert state.consume(namespace, "never-issued") is False
    state.claim(namespace, "token", 60)
    assert state.consume(namespace, "token") is True
    assert state.consume(namespace, "token") is False
    state.claim(namespace, "stale", 0.05)
    time.sleep(0.2)  # past its expiry
    assert state.consume(namespace, "stale") is False
    with ThreadPoolExecutor(max_workers=8) as pool:
        state.claim(namespace, "raced", 60)
        results = list(pool.map(lambda _: state.consume(namespace, "raced"), range(16)))
    assert results.count(True) == 1
