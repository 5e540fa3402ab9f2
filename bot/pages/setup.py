"""/setup and GET /setup/callback: register the GitHub App through GitHub's manifest flow.

GET /setup asks for the setup token from the data dir; the token comes back only in a POST body
(or the X-Setup-Token header of a POST), never in a URL, where access logs, browser history and
proxies would keep it. With the right token, POST /setup answers a form that posts app.yml (with
this server's URLs) to GitHub as `manifest`, with a random `state` that is also set as a cookie
and kept as a claim for an hour (GitHub wants the whole flow done within one). The callback
accepts the state once, only from the browser holding the cookie, exchanges GitHub's code for
the App's credentials and stores them 0600 in the data dir. It never replaces a configuration:
that takes an operator (see `reset_hint`). No page shows the server's paths.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.pages.app_manifest import manifest_for
from bot.pages.html import escape, link, origin, page
from bot.pages.manifest_conversion import ConversionError, convert, is_valid_code
from bot.webhooks.body import read_capped
from workers.runtime.app_credentials import (
    SETUP_TOKEN_FILENAME,
    AppCredentials,
    CredentialsError,
    CredentialsExist,
    forget_setup_token,
    load_credentials,
    reset_hint,
    setup_token,
    store_credentials,
)
from workers.runtime.logs import LOGGER_NAME
from workers.runtime.settings import PREFIX, Settings
from workers.runtime.state import State

STATE_NAMESPACE = "setup-state"
STATE_TTL_SECONDS = 3600
STATE_COOKIE = "pullpolicy_setup_state"
ORGANIZATION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
TOKEN_HEADER = "x-setup-token"  # noqa: S105 (a header name, not a password)
FORM_MAX_BYTES = 4096  # the start form: a token and an organization name
FORM_TIMEOUT_SECONDS = 10.0

Exchange = Callable[[str, str], AppCredentials]  # (GitHub API URL, code) -> credentials

logger = logging.getLogger(LOGGER_NAME)


def add_setup_routes(
    app: FastAPI, settings: Settings, state: State, *, exchange: Exchange = convert
) -> None:
    setup = GitHubSetup(settings, state, exchange)
    setup.prepare()
    app.router.add_route("/setup", setup.ask, methods=["GET"])
    app.router.add_route("/setup", setup.start, methods=["POST"])
    app.router.add_route("/setup/callback", setup.callback, methods=["GET"])


def public_url(settings: Settings, request: Request) -> str:
    """Where GitHub and browsers reach this server: the setting, else this request's origin."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


class GitHubSetup:
    def __init__(self, settings: Settings, state: State, exchange: Exchange) -> None:
        self._settings = settings
        self._state = state
        self._exchange = exchange

    def prepare(self) -> None:
        """At startup, while setup is open: the token file exists from the first moment, so
        the operator can read it before anyone opens /setup."""
        if self._closed() is not None:
            return
        setup_token(self._settings.data_dir)
        path = self._settings.data_dir / SETUP_TOKEN_FILENAME
        logger.info("/setup asks for the setup token in %s", path)  # for the operator only

    # --- GET /setup: ask for the token --------------------------------------------------------

    async def ask(self, request: Request) -> Response:
        # A token in the query string is never looked at: it is in a URL, and so in logs.
        closed = self._closed()
        if closed is not None:
            return closed
        await run_in_threadpool(setup_token, self._settings.data_dir)
        return self._token_page(wrong=False)

    # --- POST /setup: the token, then the form that posts the manifest to GitHub ---------------

    async def start(self, request: Request) -> Response:
        closed = self._closed()
        if closed is not None:
            return closed
        try:
            form = await _form(request)
        except (ValueError, UnicodeDecodeError):
            return _problem(400, "This is not the setup form", '<a href="/setup">Start again</a>.')
        # Whoever finishes setup owns this server's App: only someone who can read the server's
        # data dir may start it.
        expected = await run_in_threadpool(setup_token, self._settings.data_dir)
        given = request.headers.get(TOKEN_HEADER) or form.get("token", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return self._token_page(wrong=bool(given))
        organization = form.get("organization", "").strip()
        if organization and not ORGANIZATION.fullmatch(organization):
            return _problem(400, "Not an organization name", escape(organization))
        server = public_url(self._settings, request)
        token = secrets.token_urlsafe(32)
        self._state.claim(STATE_NAMESPACE, token, STATE_TTL_SECONDS)
        response = self._start_page(server, organization, token, given)
        response.set_cookie(
            STATE_COOKIE,
            token,
            max_age=STATE_TTL_SECONDS,
            path="/setup",
            secure=urlsplit(server).scheme == "https",
            httponly=True,
            samesite="lax",  # sent on GitHub's redirect back (a top-level GET)
        )
        return response

    def _token_page(self, *, wrong: bool) -> HTMLResponse:
        # Anyone can see this page: it names the file, never the server's absolute paths.
        body = (
            ("<p><b>That is not the setup token.</b></p>" if wrong else "")
            + "<p>Setting up registers the GitHub App this server will act as. To show that you "
            f"run this server, paste the setup token from the file <code>{SETUP_TOKEN_FILENAME}"
            f"</code> in its data directory (<code>{PREFIX}DATA_DIR</code>; the server's log "
            "names it).</p>"
            '<form method="post" action="/setup"><p><label>Setup token: '
            '<input name="token" type="password" autocomplete="off" required></label> '
            '<button type="submit" id="use-token">Continue</button></p></form>'
        )
        return page("Set up pullpolicy on GitHub", body, status_code=403)

    def _start_page(self, server: str, organization: str, token: str, setup: str) -> HTMLResponse:
        web = self._settings.effective_github_web_url
        manifest = manifest_for(server)
        where = f"/organizations/{quote(organization)}" if organization else ""
        action = f"{web}{where}/settings/apps/new?state={quote(token)}"
        owner = (
            f"the organization <b>{escape(organization)}</b>" if organization else "your account"
        )
        permissions = ", ".join(
            f"{name}: {level}" for name, level in manifest.get("default_permissions", {}).items()
        )
        events = ", ".join(manifest.get("default_events", []))
        body = (
            f"<p>This registers a GitHub App for this pullpolicy server on {link(web, web)}, owned "
            f"by {owner}. GitHub asks you to confirm, then sends you back here, and pullpolicy "
            "stores the App's id, private key and webhook secret in its data directory.</p>"
            "<table>"
            f"<tr><th>Webhook URL</th><td><code>{escape(manifest['hook_attributes']['url'])}</code>"
            "</td></tr>"
            f"<tr><th>Permissions</th><td>{escape(permissions)}</td></tr>"
            f"<tr><th>Events</th><td>{escape(events)} (and installations)</td></tr>"
            "</table>"
            f'<form method="post" action="{escape(action)}">'
            f'<input type="hidden" name="manifest" value="{escape(json.dumps(manifest))}">'
            '<p><button type="submit" id="create-app">Create GitHub App</button></p></form>'
            '<form method="post" action="/setup">'
            f'<input type="hidden" name="token" value="{escape(setup)}">'
            "<p><label>Register it under an organization "
            f'instead: <input name="organization" value="{escape(organization)}" '
            'pattern="[A-Za-z0-9][A-Za-z0-9-]{0,38}"></label> '
            '<button type="submit">Use this organization</button></p></form>'
            f"<p>GitHub must reach <code>{escape(server)}</code>; if it is not this server's "
            f"public address, set <code>{PREFIX}PUBLIC_URL</code> first.</p>"
        )
        return page("Set up pullpolicy on GitHub", body, form_action=origin(web))

    # --- GET /setup/callback -----------------------------------------------------------------

    async def callback(self, request: Request) -> Response:
        given = request.query_params.get("state", "")
        held = request.cookies.get(STATE_COOKIE, "")
        if not (
            given and held and hmac.compare_digest(given.encode(), held.encode())
        ) or not self._state.consume(STATE_NAMESPACE, given):
            return _forget_state(
                _problem(
                    400,
                    "This setup link is not valid",
                    "It expired, was used already, or was opened in another browser than the "
                    'one that started the setup. <a href="/setup">Start again</a>.',
                )
            )
        closed = self._closed(status_code=409)
        if closed is not None:
            return _forget_state(closed)
        code = request.query_params.get("code", "")
        if not is_valid_code(code):
            return _forget_state(_problem(400, "GitHub sent no valid code", _start_again()))
        try:
            credentials = await run_in_threadpool(
                self._exchange, self._settings.github_api_url, code
            )
        except ConversionError as error:
            status = 400 if error.status in (404, 422) else 502
            message = f"{escape(error.message)}. {_start_again()}"
            return _forget_state(_problem(status, "GitHub did not hand over the App", message))
        try:
            await run_in_threadpool(store_credentials, self._settings.data_dir, credentials)
        except CredentialsExist:
            return _forget_state(self._already_configured(409))
        except OSError as error:
            detail = f"Could not write to the data directory ({escape(error.strerror)})."
            return _forget_state(_problem(500, "Setup could not be saved", detail))
        await run_in_threadpool(forget_setup_token, self._settings.data_dir)
        logger.info("GitHub App %s (id %s) set up", credentials.slug, credentials.app_id)
        return _forget_state(_configured_page(credentials))

    # --- configured already ------------------------------------------------------------------

    def _closed(self, status_code: int = 200) -> HTMLResponse | None:
        """The page to show instead of setting up, when something is configured already."""
        try:
            stored = load_credentials(self._settings.data_dir)
        except CredentialsError as error:
            logger.error("%s", error)  # names the file and what is wrong: for the operator
            return _problem(
                500, "The stored GitHub App cannot be read", "The server's log says why."
            )
        if stored is not None:
            return self._already_configured(status_code, stored)
        if self._settings.github_app_configured:
            body = (
                f"<p>The GitHub App is configured through the <code>{PREFIX}GITHUB_*</code> "
                'environment variables, which win over setup. See <a href="/status">the status '
                "page</a>.</p>"
            )
            return page("pullpolicy is configured", body, status_code=status_code)
        return None

    def _already_configured(
        self, status_code: int, stored: AppCredentials | None = None
    ) -> HTMLResponse:
        app = (
            f"the GitHub App {link(stored.html_url, stored.slug)} (id {stored.app_id})"
            if stored is not None
            else "a GitHub App"
        )
        apps = link(f"{self._settings.effective_github_web_url}/settings/apps", "GitHub")
        body = (
            f"<p>pullpolicy is already set up with {app}. Setup never replaces a configuration: "
            f"{escape(reset_hint())}.</p>"
            f'<p>See <a href="/status">the status page</a>. An App that GitHub created just now '
            f"and is not wanted can be deleted on {apps}.</p>"
        )
        return page("pullpolicy is already set up", body, status_code=status_code)


def _configured_page(credentials: AppCredentials) -> HTMLResponse:
    install = f"{credentials.html_url.rstrip('/')}/installations/new"
    body = (
        f'<p class="ok" id="configured">pullpolicy is configured as the GitHub App '
        f"{link(credentials.html_url, credentials.slug)} (id {credentials.app_id}, owned by "
        f"{escape(credentials.owner or 'you')}).</p>"
        f"<p>Next, {link(install, 'install it')} on the repositories whose Kubernetes "
        "manifests it should keep at <code>imagePullPolicy: Always</code>. Each one gets a "
        "first scan, and a fix pull request where needed.</p>"
        '<p>Follow scans and pull requests on <a href="/status">the status page</a>.</p>'
    )
    return page("pullpolicy is set up", body)


async def _form(request: Request) -> dict[str, str]:
    """The fields of a small url-encoded form (the last value of each); ValueError otherwise."""
    try:
        body = await read_capped(request, FORM_MAX_BYTES, FORM_TIMEOUT_SECONDS)
    except Exception as error:  # too large, stalled, dropped: none is a setup form
        raise ValueError(type(error).__name__) from None
    fields = parse_qs(body.decode("utf-8"), max_num_fields=8)
    return {name: values[-1] for name, values in fields.items()}


def _problem(status_code: int, title: str, markup: str) -> HTMLResponse:
    return page(title, f'<p class="error">{markup}</p>', status_code=status_code)


def _start_again() -> str:
    return '<a href="/setup">Start the setup again</a>.'


def _forget_state(response: Response) -> Response:
    response.delete_cookie(STATE_COOKIE, path="/setup")
    return response
