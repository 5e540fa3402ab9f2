"""/setup and its callback: the manifest posted, the state checked, the code exchanged with the
(fake) GitHub, the credentials stored 0600 and used at once — and every refusal."""

from __future__ import annotations

import json
import logging
import os
import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.main import create_app
from bot.pages.app_manifest import MANIFEST_FILE
from bot.pages.manifest_conversion import ConversionError, parse_conversion
from bot.pages.setup import STATE_COOKIE, STATE_NAMESPACE, STATE_TTL_SECONDS
from bot.webhooks.enqueue import InMemoryEnqueuer
from tests.bot.helpers import encode, github_headers, payload
from tests.bot.setup_helpers import SetupBot
from tests.fakeforge import FakeForge
from tests.fakeforge.app_manifests import manifest_problems
from workers.runtime.app_credentials import credentials_path, load_credentials
from workers.runtime.settings import Settings

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def bot(fake_forge: FakeForge, tmp_path: Path) -> Iterator[SetupBot]:
    made = SetupBot(fake_forge, tmp_path / "data")
    yield made
    made.close()


def secrets_of(app: object) -> list[str]:
    return [getattr(app, name) for name in ("pem", "webhook_secret", "client_secret")]


# --- the manifest ------------------------------------------------------------------------


def test_app_yml_is_a_manifest_github_accepts_with_the_least_permissions() -> None:
    root = REPOSITORY_ROOT / "app.yml"
    assert root.resolve() == MANIFEST_FILE.resolve()  # the Probot location links to the package
    manifest = yaml.safe_load(MANIFEST_FILE.read_text())
    assert manifest_problems(manifest) == []
    assert manifest["default_permissions"] == {
        "contents": "write",
        "pull_requests": "write",
        "checks": "write",
        "metadata": "read",
    }
    assert manifest["default_events"] == ["push", "pull_request"]
    assert manifest["public"] is False
    assert manifest_problems({**manifest, "default_events": ["push", "installation"]}) == [
        "Default events unsupported: installation"
    ]


def test_setup_page_posts_app_yml_with_this_servers_urls(bot: SetupBot) -> None:
    response = bot.page()
    form = bot.start()
    assert form.action.startswith(f"{bot.forge.web_url}/settings/apps/new?state=")
    template = yaml.safe_load(MANIFEST_FILE.read_text())
    assert form.manifest["hook_attributes"] == {
        "url": "http://testserver/webhooks/github",
        "active": True,
    }
    assert form.manifest["redirect_url"] == "http://testserver/setup/callback"
    assert form.manifest["setup_url"] == "http://testserver/status"
    for field in ("name", "url", "description", "public", "default_events", "default_permissions"):
        assert form.manifest[field] == template[field]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/setup" in cookie
    assert f"Max-Age={STATE_TTL_SECONDS}" in cookie and "Secure" not in cookie
    policy = response.headers["content-security-policy"]
    assert f"form-action 'self' {bot.forge.web_url}" in policy
    assert response.headers["referrer-policy"] == "no-referrer"


def test_public_url_setting_wins_over_the_request(fake_forge: FakeForge, tmp_path: Path) -> None:
    bot = SetupBot(fake_forge, tmp_path / "data", public_url="https://bot.example.com/")
    try:
        response = bot.page()
        form = bot.start()
        assert form.manifest["hook_attributes"]["url"] == "https://bot.example.com/webhooks/github"
        assert form.manifest["redirect_url"] == "https://bot.example.com/setup/callback"
        assert "Secure" in response.headers["set-cookie"]
    finally:
        bot.close()


def test_organization_variant_and_a_bad_organization_name(bot: SetupBot) -> None:
    form = bot.start(organization="acme-corp")
    assert form.action.startswith(f"{bot.forge.web_url}/organizations/acme-corp/settings/apps/new?")
    refused = bot.page(organization="<b>x</b>/y")
    assert refused.status_code == 400
    assert "<b>x</b>" not in refused.text and "&lt;b&gt;x&lt;/b&gt;" in refused.text


def test_setup_starts_only_with_the_token_from_the_data_dir(bot: SetupBot) -> None:
    asked = bot.client.get("/setup")
    assert asked.status_code == 403 and 'name="token"' in asked.text
    assert '<form method="post" action="/setup">' in asked.text  # the token never in a URL
    assert "setup-token" in asked.text  # where to find it
    assert "set-cookie" not in asked.headers  # no setup state handed out
    token_file = bot.settings.data_dir / "setup-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    wrong = bot.client.post("/setup", data={"token": "guess"})
    assert wrong.status_code == 403 and "not the setup token" in wrong.text
    assert bot.client.post("/setup", data={"token": "\u00e9"}).status_code == 403  # no crash
    assert token_file.read_text().strip() not in asked.text + wrong.text
    page = bot.page()
    assert page.status_code == 200 and "set-cookie" in page.headers
    # The organization form carries the token on (in a POST body), or choosing an organization
    # would bounce.
    assert f'name="token" value="{token_file.read_text().strip()}"' in page.text
    assert page.text.count('<form method="post" action="/setup">') == 1


def test_the_token_is_never_taken_from_a_url(bot: SetupBot) -> None:
    token = (bot.settings.data_dir / "setup-token").read_text().strip()
    in_url = bot.client.get("/setup", params={"token": token})
    assert in_url.status_code == 403 and "set-cookie" not in in_url.headers
    assert 'name="manifest"' not in in_url.text
    posted_to_url = bot.client.post(f"/setup?token={token}")
    assert posted_to_url.status_code == 403 and "set-cookie" not in posted_to_url.headers
    # A script may send it in a header instead of a form.
    by_header = bot.client.post("/setup", headers={"X-Setup-Token": token})
    assert by_header.status_code == 200 and 'name="manifest"' in by_header.text


@pytest.mark.parametrize("configured", [False, True], ids=["setup-mode", "configured"])
def test_the_data_dir_is_private_and_the_token_there_from_startup(
    tmp_path: Path, configured: bool
) -> None:
    data_dir = tmp_path / "fresh" / "data"
    settings = Settings(
        data_dir=data_dir,
        github_app_id=7 if configured else None,
        github_webhook_secret=SecretStr("s") if configured else None,
    )
    previous = os.umask(0o022)
    try:  # the app's own state file is the first thing it puts in the data dir
        app = create_app(settings, enqueuer=InMemoryEnqueuer())
    finally:
        os.umask(previous)
    with TestClient(app):  # nobody opened /setup yet
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        token = data_dir / "setup-token"
        if configured:
            assert not token.exists()
        else:
            assert stat.S_IMODE(token.stat().st_mode) == 0o600


def test_no_page_shows_the_data_dirs_path(bot: SetupBot) -> None:
    where = str(bot.settings.data_dir.resolve())
    asked = bot.client.get("/setup")
    wrong = bot.client.post("/setup", data={"token": "guess"})
    form = bot.start()
    _, code = bot.create_on_github(form)
    done = bot.callback(code, form.state)
    configured = bot.client.get("/setup")
    assert "already set up" in configured.text
    for response in (asked, wrong, done, configured):
        assert where not in response.text and str(bot.settings.data_dir) not in response.text
    path = credentials_path(bot.settings.data_dir)
    path.chmod(0o644)  # refused as unsafe: the page says so, the log says where
    unsafe = bot.client.get("/setup")
    assert unsafe.status_code == 500 and where not in unsafe.text


def test_a_finished_setup_forgets_its_token(bot: SetupBot) -> None:
    form = bot.start()
    _, code = bot.create_on_github(form)
    assert bot.callback(code, form.state).status_code == 200
    assert not (bot.settings.data_dir / "setup-token").exists()


# --- the callback ------------------------------------------------------------------------


def test_callback_stores_the_app_0600_and_deliveries_verify_at_once(
    bot: SetupBot, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode(payload("github", "push.4"))
    before = bot.client.post("/webhooks/github", content=body, headers=github_headers("push", body))
    assert before.status_code == 503
    form = bot.start()
    app, code = bot.create_on_github(form)
    with caplog.at_level(logging.DEBUG):
        response = bot.callback(code, form.state)
    assert response.status_code == 200, response.text
    assert f"/apps/{app.slug}/installations/new" in response.text
    assert 'id="configured"' in response.text
    assert STATE_COOKIE in response.headers["set-cookie"]  # deleted: the state is spent
    path = credentials_path(bot.settings.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(bot.settings.data_dir.stat().st_mode) == 0o700
    stored = load_credentials(bot.settings.data_dir)
    assert stored is not None and stored.app_id == app.id and stored.slug == app.slug
    assert stored.pem.get_secret_value() == app.pem
    for secret in secrets_of(app):
        assert secret not in response.text and secret not in caplog.text
        assert secret not in repr(stored)
    # No restart: the next delivery is verified with the stored webhook secret.
    signed = github_headers("push", body, secret=app.webhook_secret)
    assert bot.client.post("/webhooks/github", content=body, headers=signed).status_code == 202
    assert len(bot.enqueuer.jobs) == 1
    wrong = github_headers("push", body, secret="not-the-secret")
    assert bot.client.post("/webhooks/github", content=body, headers=wrong).status_code == 401
    assert bot.client.get("/healthz").json() == {"status": "ok", "forges": ["github"]}


def test_state_must_match_the_browsers_cookie(bot: SetupBot) -> None:
    form = bot.start()
    _, code = bot.create_on_github(form)
    held = bot.client.cookies.get(STATE_COOKIE) or ""
    assert bot.callback(code, "forged-state").status_code == 400  # not the cookie's
    bot.client.cookies.clear()  # another browser: the right state without the cookie
    assert bot.callback(code, form.state).status_code == 400
    assert load_credentials(bot.settings.data_dir) is None
    # Neither attempt could spend the state of the browser that started the setup.
    bot.client.cookies.set(STATE_COOKIE, held, path="/setup")
    assert bot.callback(code, form.state).status_code == 200


def test_a_state_this_server_never_issued_is_refused(bot: SetupBot) -> None:
    form = bot.start()
    _, code = bot.create_on_github(form)
    bot.client.cookies.set(STATE_COOKIE, "made-up", path="/setup")
    refused = bot.callback(code, "made-up")
    assert refused.status_code == 400
    assert "Start again" in refused.text


def test_a_non_ascii_state_is_refused_not_a_crash(bot: SetupBot) -> None:
    form = bot.start()
    _, code = bot.create_on_github(form)
    held = bot.client.cookies.get(STATE_COOKIE) or ""
    # hmac.compare_digest raises on non-ASCII str: the callback must compare bytes.
    assert bot.callback(code, "\u00e9t\u00e9").status_code == 400
    bot.client.cookies.set(STATE_COOKIE, held, path="/setup")  # the refusal cleared it
    assert bot.callback(code, form.state).status_code == 200  # and the real state still works


def test_a_replayed_callback_is_refused(bot: SetupBot) -> None:
    form = bot.start()
    _, code = bot.create_on_github(form)
    held = bot.client.cookies.get(STATE_COOKIE) or ""
    assert bot.callback(code, form.state).status_code == 200
    bot.client.cookies.set(STATE_COOKIE, held, path="/setup")
    assert bot.callback(code, form.state).status_code == 400


@pytest.mark.parametrize("spoil", ["used", "expired"])
def test_a_used_or_expired_code_gives_a_clear_error_page(bot: SetupBot, spoil: str) -> None:
    form = bot.start()
    _, code = bot.create_on_github(form)
    if spoil == "used":  # someone else (or an earlier try) redeemed it first
        request = urllib.request.Request(  # noqa: S310
            f"{bot.forge.github_api_url}/app-manifests/{code}/conversions", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            assert answer.status == 201
    else:
        bot.forge.expire_manifest_codes()
    response = bot.callback(code, form.state)
    assert response.status_code == 400
    assert "works once and expires an hour" in response.text
    assert 'href="/setup"' in response.text
    assert load_credentials(bot.settings.data_dir) is None


def test_github_unreachable_is_a_502_page(fake_forge: FakeForge, tmp_path: Path) -> None:
    bot = SetupBot(fake_forge, tmp_path / "data")
    form = bot.start()
    _, code = bot.create_on_github(form)
    fake_forge.stop()  # GitHub is down when the browser comes back
    try:
        response = bot.callback(code, form.state)
        assert response.status_code == 502
        assert "could not reach GitHub" in response.text
    finally:
        bot.close()


def test_a_malformed_code_is_not_sent_to_github(bot: SetupBot) -> None:
    form = bot.start()
    bot.forge.reset_requests()
    assert bot.callback("../../user", form.state).status_code == 400
    assert bot.forge.requests == []


# --- never overwrite ---------------------------------------------------------------------


def test_setup_refuses_to_replace_a_stored_app(bot: SetupBot) -> None:
    form = bot.start()
    app, code = bot.create_on_github(form)
    assert bot.callback(code, form.state).status_code == 200
    original = credentials_path(bot.settings.data_dir).read_bytes()
    page = bot.client.get("/setup")
    assert page.status_code == 200
    assert "already set up" in page.text and "delete" in page.text
    assert 'name="manifest"' not in page.text and "set-cookie" not in page.headers
    # A flow started before the first one finished still cannot replace it.
    bot.state.claim(STATE_NAMESPACE, "second-tab", STATE_TTL_SECONDS)
    bot.client.cookies.set(STATE_COOKIE, "second-tab", path="/setup")
    _, second_code = bot.forge.create_manifest_app({**form.manifest, "name": "other"})
    refused = bot.callback(second_code, "second-tab")
    assert refused.status_code == 409
    assert "github-app.json" in refused.text  # what to delete, not where the data dir is
    assert credentials_path(bot.settings.data_dir).read_bytes() == original
    for secret in secrets_of(app):
        assert secret not in refused.text and secret not in page.text


def test_an_app_configured_in_the_environment_is_never_replaced(
    fake_forge: FakeForge, tmp_path: Path
) -> None:
    bot = SetupBot(
        fake_forge,
        tmp_path / "data",
        github_app_id=77,
        github_webhook_secret=SecretStr("from-the-environment"),
    )
    try:
        page = bot.client.get("/setup")
        assert page.status_code == 200 and "environment" in page.text
        bot.state.claim(STATE_NAMESPACE, "s", STATE_TTL_SECONDS)
        bot.client.cookies.set(STATE_COOKIE, "s", path="/setup")
        _, code = fake_forge.create_manifest_app({"name": "x", "url": "https://example.com"})
        assert bot.callback(code, "s").status_code == 409
        assert not credentials_path(bot.settings.data_dir).exists()
    finally:
        bot.close()


# --- the conversion answer ---------------------------------------------------------------


def test_an_answer_without_a_webhook_secret_is_refused_without_showing_values() -> None:
    body = {
        "id": 1,
        "slug": "s",
        "name": "n",
        "html_url": "https://github.com/apps/s",
        "owner": {"login": "o"},
        "client_id": "Iv1.x",
        "client_secret": "client-secret-value",
        "webhook_secret": None,
        "pem": "-----BEGIN RSA PRIVATE KEY-----\nsecret-key-body\n-----END RSA PRIVATE KEY-----\n",
    }
    with pytest.raises(ConversionError) as caught:
        parse_conversion(json.dumps(body).encode())
    assert "webhook secret" in caught.value.message
    assert "secret-key-body" not in str(caught.value)
    with pytest.raises(ConversionError) as missing:
        parse_conversion(json.dumps({**body, "webhook_secret": "w", "id": None}).encode())
    assert "client-secret-value" not in str(missing.value)


def test_the_file_is_0600_whatever_the_umask(fake_forge: FakeForge, tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        bot = SetupBot(fake_forge, tmp_path / "data")
        form = bot.start()
        _, code = bot.create_on_github(form)
        assert bot.callback(code, form.state).status_code == 200
        bot.close()
    finally:
        os.umask(previous)
    path = credentials_path(tmp_path / "data")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
