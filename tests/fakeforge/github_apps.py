"""GitHub App endpoints (JWT-authenticated), the manifest conversion and the rate-limit overview."""

from __future__ import annotations

import time

from tests.fakeforge.github_common import not_found, number_param, view
from tests.fakeforge.github_views import iso
from tests.fakeforge.state import ForgeState
from tests.fakeforge.web import ApiCall, Response, Route, json_response, route

Params = dict[str, str]
RATE_LIMIT = 5000


class GitHubAppRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            route("GET", "app", self.get_app, auth="app"),
            route("GET", "repos/{owner}/{repo}/installation", self.repo_installation, auth="app"),
            route("GET", "app/installations/{installation_id}", self.get_installation, auth="app"),
            route(
                "POST",
                "app/installations/{installation_id}/access_tokens",
                self.create_access_token,
                auth="app",
            ),
            route("GET", "rate_limit", self.rate_limit),
            route("POST", "app-manifests/{code}/conversions", self.convert_manifest, auth="none"),
        ]

    def _app_id(self, call: ApiCall) -> int:
        assert call.principal is not None and call.principal.app_id is not None
        return call.principal.app_id

    def get_app(self, call: ApiCall, params: Params) -> Response:
        app_id = self._app_id(call)
        created = self.state.manifests.apps.get(app_id)
        if created is not None:
            owner_id = self.state.user_id(created.owner)
            return json_response(200, view(call).manifest_app(created, owner_id))
        owner = "app-owner"
        return json_response(200, view(call).app(app_id, owner, self.state.user_id(owner)))

    def convert_manifest(self, call: ApiCall, params: Params) -> Response:
        """Unauthenticated, like GitHub's: the one-time code is the credential."""
        created = self.state.manifests.redeem(params["code"])
        if created is None:
            not_found()
        rendered = view(call).manifest_app(created, self.state.user_id(created.owner))
        secrets = {
            "client_id": created.client_id,
            "client_secret": created.client_secret,
            "webhook_secret": created.webhook_secret,
            "pem": created.pem,
        }
        return json_response(201, {**rendered, **secrets})

    def _installation_response(self, call: ApiCall, installation_id: int) -> Response:
        installation = self.state.auth.installations.get(installation_id)
        app_id = self._app_id(call)
        if installation is None or installation.app_id not in (None, app_id):
            not_found()
        account = installation.repos[0].rpartition("/")[0] if installation.repos else "nobody"
        rendered = view(call).installation(
            installation_id, app_id, account, self.state.user_id(account)
        )
        return json_response(200, rendered)

    def repo_installation(self, call: ApiCall, params: Params) -> Response:
        installation = self.state.auth.installation_for_repo(f"{params['owner']}/{params['repo']}")
        if installation is None:
            not_found()
        return self._installation_response(call, installation.id)

    def get_installation(self, call: ApiCall, params: Params) -> Response:
        return self._installation_response(call, number_param(params["installation_id"]))

    def create_access_token(self, call: ApiCall, params: Params) -> Response:
        installation_id = number_param(params["installation_id"])
        installation = self.state.auth.installations.get(installation_id)
        assert call.principal is not None
        if installation is None or installation.app_id not in (None, call.principal.app_id):
            not_found()
        token, expires_at = self.state.auth.mint_installation_token(call.principal, installation_id)
        return json_response(
            201,
            {
                "token": token,
                "expires_at": iso(expires_at),
                "permissions": {
                    "checks": "write",
                    "contents": "write",
                    "pull_requests": "write",
                    "metadata": "read",
                },
                "repository_selection": "selected",
            },
        )

    def rate_limit(self, call: ApiCall, params: Params) -> Response:
        window = rate_window()
        return json_response(200, {"resources": {"core": window, "search": window}, "rate": window})


def rate_window() -> dict[str, int]:
    return {
        "limit": RATE_LIMIT,
        "remaining": RATE_LIMIT - 1,
        "reset": int(time.time()) + 3600,
        "used": 1,
    }


def rate_headers() -> list[tuple[str, str]]:
    """Sent on every GitHub API answer, as GitHub does; PyGithub reads them."""
    window = rate_window()
    return [
        ("x-ratelimit-limit", str(window["limit"])),
        ("x-ratelimit-remaining", str(window["remaining"])),
        ("x-ratelimit-reset", str(window["reset"])),
        ("x-ratelimit-used", str(window["used"])),
        ("x-ratelimit-resource", "core"),
    ]
