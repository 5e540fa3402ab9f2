"""The GitHub web pages of the manifest flow and of installing an App, for browser tests.

    POST /settings/apps/new?state=S                      (form field `manifest`: JSON)
    POST /organizations/{org}/settings/apps/new?state=S
        -> a confirmation page; its "Create GitHub App" button posts to
    POST /settings/apps/new/confirm
        -> registers the App (fresh id and RSA key pair) and redirects to
           redirect_url?code=C&state=S; the code is redeemed through the API
    GET  /apps/{slug}                                    the App's public page
    GET  /apps/{slug}/installations/new                  pick repositories, "Install"
    POST /apps/{slug}/installations/new                  -> setup_url?installation_id=N&...
    GET  /settings/installations/{id}                    an installation

Nobody signs in: the pages act for WEB_USER (or the organization in the URL). The fake never
delivers webhooks; tests send them.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakeforge.app_manifests import (
    WEB_USER,
    CreatedApp,
    PendingManifest,
    manifest_problems,
)
from tests.fakeforge.auth import Installation
from tests.fakeforge.state import ForgeState
from tests.fakeforge.web import ApiCall, Request, Response, Route, find_route, route

Params = dict[str, str]
Form = dict[str, list[str]]


class GitHubWeb:
    def __init__(self, state: ForgeState) -> None:
        self.state = state
        self.routes: list[Route] = [
            route("POST", "settings/apps/new", self.new_app, auth="none"),
            route("POST", "organizations/{org}/settings/apps/new", self.new_app, auth="none"),
            route("POST", "settings/apps/new/confirm", self.confirm, auth="none"),
            route("GET", "apps/{slug}", self.app_page, auth="none"),
            route("GET", "apps/{slug}/installations/new", self.install_page, auth="none"),
            route("POST", "apps/{slug}/installations/new", self.install, auth="none"),
            route("GET", "settings/installations/{id}", self.installation_page, auth="none"),
        ]

    def handle(self, request: Request) -> Response | None:
        """The page for this request, or None when no web route matches."""
        found = find_route(self.routes, request.method, request.segments)
        if found is None:
            return None
        handler, params = found
        with self.state.lock:
            return handler.handler(ApiCall(request, None), params)

    # -- registering an App from a manifest ---------------------------------------------------

    def new_app(self, call: ApiCall, params: Params) -> Response:
        form = _form(call.request)
        try:
            manifest = json.loads(form.get("manifest", [""])[-1])
        except json.JSONDecodeError:
            return _page(422, "Invalid GitHub App manifest", "<p>The manifest is not JSON.</p>")
        problems = manifest_problems(manifest)
        if problems:
            items = "".join(f"<li>{escape(problem)}</li>" for problem in problems)
            return _page(422, "Invalid GitHub App manifest", f'<ul id="errors">{items}</ul>')
        organization = params.get("org")
        pending = PendingManifest(
            manifest=manifest,
            owner=organization or WEB_USER,
            owner_type="Organization" if organization else "User",
            state=call.request.arg("state"),
        )
        token = self.state.manifests.hold(pending)
        return _confirmation(token, pending, str(manifest.get("name") or ""))

    def confirm(self, call: ApiCall, params: Params) -> Response:
        form = _form(call.request)
        token = form.get("pending", [""])[-1]
        pending = self.state.manifests.pending.pop(token, None)
        if pending is None:
            return _page(404, "Not Found", "<p>This registration is gone.</p>")
        name = form.get("name", [""])[-1].strip() or str(pending.manifest.get("name") or "")
        try:
            app, code = self.state.manifests.create(self.state.ids.next(), pending, name)
        except ValueError as error:
            token = self.state.manifests.hold(pending)
            return _confirmation(token, pending, name, error=str(error))
        self.state.auth.register_app(app.id, app.public_pem)
        self.state.user_id(app.owner)
        redirect = pending.manifest.get("redirect_url")
        if not isinstance(redirect, str) or not redirect:
            return _redirect(f"/apps/{app.slug}")
        query = {"code": code, **({"state": pending.state} if pending.state else {})}
        return _redirect(_with_query(redirect, query))

    # -- the App's pages and installing it -----------------------------------------------------

    def app_page(self, call: ApiCall, params: Params) -> Response:
        app = self._app(params["slug"])
        if app is None:
            return _page(404, "Not Found", "")
        description = escape(str(app.manifest.get("description") or ""))
        return _page(
            200,
            app.name,
            f"<p>{description}</p><p>Owned by {escape(app.owner)} (App id {app.id}).</p>"
            f'<p><a id="install" href="/apps/{escape(app.slug)}/installations/new">Install</a></p>',
        )

    def install_page(self, call: ApiCall, params: Params) -> Response:
        app = self._app(params["slug"])
        if app is None:
            return _page(404, "Not Found", "")
        boxes = "".join(
            f'<li><label><input type="checkbox" name="repository" value="{escape(name)}">'
            f"{escape(name)}</label></li>"
            for name in sorted(self.state.repos)
        )
        return _page(
            200,
            f"Install {app.name}",
            f'<form method="post" action="/apps/{escape(app.slug)}/installations/new">'
            f"<p>Only select repositories:</p><ul>{boxes}</ul>"
            '<button type="submit" id="install">Install</button></form>',
        )

    def install(self, call: ApiCall, params: Params) -> Response:
        app = self._app(params["slug"])
        if app is None:
            return _page(404, "Not Found", "")
        chosen = [name for name in _form(call.request).get("repository", []) if name]
        unknown = [name for name in chosen if name not in self.state.repos]
        if not chosen or unknown:
            return _page(422, "Choose repositories", "<p>Select at least one repository.</p>")
        installation_id = self.state.ids.next()
        installation = Installation(installation_id, tuple(chosen), app.id)
        self.state.auth.installations[installation_id] = installation
        setup_url = app.manifest.get("setup_url")
        if isinstance(setup_url, str) and setup_url:
            query = {"installation_id": str(installation_id), "setup_action": "install"}
            return _redirect(_with_query(setup_url, query))
        return _redirect(f"/settings/installations/{installation_id}")

    def installation_page(self, call: ApiCall, params: Params) -> Response:
        raw = params["id"]
        installation = self.state.auth.installations.get(int(raw)) if raw.isdigit() else None
        if installation is None:
            return _page(404, "Not Found", "")
        repositories = ", ".join(installation.repos)
        return _page(
            200,
            f"Installation {installation.id}",
            f'<p id="installation" data-id="{installation.id}">Installed on '
            f"{escape(repositories)}.</p>",
        )

    def _app(self, slug: str) -> CreatedApp | None:
        return self.state.manifests.by_slug(slug)


def _confirmation(token: str, pending: PendingManifest, name: str, error: str = "") -> Response:
    manifest = pending.manifest
    hook = manifest.get("hook_attributes") or {}
    permissions = ", ".join(
        f"{escape(str(key))}: {escape(str(value))}"
        for key, value in (manifest.get("default_permissions") or {}).items()
    )
    events = ", ".join(escape(str(event)) for event in manifest.get("default_events") or [])
    problem = f'<p id="errors">{escape(error)}</p>' if error else ""
    return _page(
        422 if error else 200,
        f"Create GitHub App for {pending.owner}",
        f"{problem}"
        '<form method="post" action="/settings/apps/new/confirm">'
        f'<input type="hidden" name="pending" value="{escape(token)}">'
        f'<p><label>GitHub App name <input name="name" value="{escape(name)}"></label></p>'
        f"<p>Homepage: {escape(str(manifest.get('url', '')))}</p>"
        f"<p>Webhook URL: <code>{escape(str(hook.get('url', '')))}</code></p>"
        f"<p>Permissions: {permissions}</p><p>Events: {events}</p>"
        '<button type="submit" id="create">Create GitHub App</button></form>',
    )


def _form(request: Request) -> Form:
    return parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)


def _with_query(url: str, query: dict[str, str]) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode(query)}"


def _redirect(location: str) -> Response:
    return Response(302, b"", [("Location", location)])


def _page(status: int, title: str, body: str) -> Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(status, html.encode(), [("Content-Type", "text/html; charset=utf-8")])
