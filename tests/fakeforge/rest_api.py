"""The two REST dialects: where they live, their routes, and how each says "no"."""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Protocol

from tests.fakeforge.auth import Principal
from tests.fakeforge.faults import Fault
from tests.fakeforge.github_apps import GitHubAppRoutes, rate_headers
from tests.fakeforge.github_checks import GitHubCheckRoutes
from tests.fakeforge.github_common import error_body
from tests.fakeforge.github_git import GitHubGitRoutes
from tests.fakeforge.github_graphql import GitHubGraphQlRoutes
from tests.fakeforge.github_pulls import GitHubPullRoutes
from tests.fakeforge.github_reviews import GitHubReviewRoutes
from tests.fakeforge.gitlab_discussions import GitLabDiscussionRoutes
from tests.fakeforge.gitlab_graphql import GitLabGraphQlRoutes
from tests.fakeforge.gitlab_merge_requests import GitLabMergeRequestRoutes
from tests.fakeforge.gitlab_repository import GitLabRepositoryRoutes
from tests.fakeforge.state import ForgeState
from tests.fakeforge.web import Request, Response, Route, json_response


class RestApi(Protocol):
    @property
    def prefix(self) -> tuple[str, ...]: ...

    routes: list[Route]

    def error(self, status: int, message: str) -> Response: ...

    def credential(self, request: Request) -> str | None: ...

    def refuse(self, route: Route, principal: Principal | None) -> Response | None: ...

    def fault(self, fault: Fault) -> Response: ...

    def common_headers(self) -> list[tuple[str, str]]: ...


def _custom_body(fault: Fault) -> bytes:
    assert fault.body is not None
    return fault.body.encode()


def _content_type(body: str) -> str:
    try:
        json.loads(body)
    except json.JSONDecodeError:
        return "text/plain; charset=utf-8"
    return "application/json; charset=utf-8"


class GitHubApi:
    prefix: tuple[str, ...] = ("api", "v3")

    def __init__(self, state: ForgeState) -> None:
        # First match wins: the catch-all `commits/{ref*}` of the git routes goes last so that
        # `commits/{ref}/check-runs` reaches the checks.
        self.routes: list[Route] = [
            *GitHubAppRoutes(state).routes(),
            *GitHubCheckRoutes(state).routes(),
            *GitHubPullRoutes(state).routes(),
            *GitHubReviewRoutes(state).routes(),
            *GitHubGitRoutes(state).routes(),
        ]

    def error(self, status: int, message: str) -> Response:
        return json_response(status, error_body(status, message))

    def credential(self, request: Request) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        return None

    def refuse(self, route: Route, principal: Principal | None) -> Response | None:
        if route.auth == "none":
            return None
        if principal is None:
            return self.error(401, "Requires authentication")
        if route.auth == "app" and principal.kind != "app":
            return self.error(401, "A JSON web token could not be decoded")
        if route.auth == "token" and principal.kind == "app":
            return self.error(403, "Resource not accessible by integration")
        return None

    def fault(self, fault: Fault) -> Response:
        headers: list[tuple[str, str]] = []
        message = "Server Error"
        if fault.ratelimit_reset is not None:
            headers += [
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-used", "5000"),
                ("x-ratelimit-reset", str(fault.ratelimit_reset)),
                ("x-ratelimit-resource", "core"),
            ]
            message = "API rate limit exceeded for installation ID 1."
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(fault.retry_after)))
            message = (
                "You have exceeded a secondary rate limit. "
                "Please wait a few minutes before you try again."
            )
        if fault.body is not None:
            return Response(
                fault.status,
                _custom_body(fault),
                [("Content-Type", _content_type(fault.body)), *headers],
            )
        return json_response(fault.status, error_body(fault.status, message), headers)

    def common_headers(self) -> list[tuple[str, str]]:
        return [*rate_headers(), ("X-GitHub-Api-Version-Selected", "2022-11-28")]


class GitHubGraphQlApi(GitHubApi):
    """`/api/graphql`: where PyGithub sends GraphQL when its base_url ends in /api/v3."""

    prefix: tuple[str, ...] = ("api",)

    def __init__(self, state: ForgeState) -> None:
        self.routes = GitHubGraphQlRoutes(state).routes()


class GitLabApi:
    prefix: tuple[str, ...] = ("gitlab", "api", "v4")

    def __init__(self, state: ForgeState) -> None:
        self.routes: list[Route] = [
            *GitLabRepositoryRoutes(state).routes(),
            *GitLabDiscussionRoutes(state).routes(),
            *GitLabMergeRequestRoutes(state).routes(),
        ]

    def error(self, status: int, message: str) -> Response:
        text = message if message[:3].isdigit() else f"{status} {message}"
        return json_response(status, {"message": text})

    def credential(self, request: Request) -> str | None:
        token = request.headers.get("private-token", "").strip()
        if token:
            return token
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def refuse(self, route: Route, principal: Principal | None) -> Response | None:
        if principal is None or principal.kind == "app":
            return json_response(401, {"message": "401 Unauthorized"})
        return None

    def fault(self, fault: Fault) -> Response:
        headers: list[tuple[str, str]] = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(fault.retry_after)))
        if fault.ratelimit_reset is not None:
            headers += [
                ("RateLimit-Limit", "600"),
                ("RateLimit-Observed", "600"),
                ("RateLimit-Remaining", "0"),
                ("RateLimit-Reset", str(fault.ratelimit_reset)),
                ("RateLimit-ResetTime", formatdate(fault.ratelimit_reset, usegmt=True)),
            ]
        if fault.body is not None:
            return Response(
                fault.status,
                _custom_body(fault),
                [("Content-Type", _content_type(fault.body)), *headers],
            )
        if fault.status == 429:
            # GitLab's throttle (Rack::Attack) answers in plain text.
            return Response(429, b"Retry later\n", [("Content-Type", "text/plain"), *headers])
        return json_response(fault.status, {"message": f"{fault.status} Error"}, headers)

    def common_headers(self) -> list[tuple[str, str]]:
        return []


class GitLabGraphQlApi(GitLabApi):
    """`/gitlab/api/graphql`: GitLab's GraphQL endpoint, beside /api/v4."""

    prefix: tuple[str, ...] = ("gitlab", "api")

    def __init__(self, state: ForgeState) -> None:
        self.routes = GitLabGraphQlRoutes(state).routes()


def authenticate(state: ForgeState, api: RestApi, request: Request) -> Principal | None:
    """The caller, None when no credentials were sent; AuthError when they are refused."""
    credential = api.credential(request)
    if credential is None:
        return None
    return state.auth.authenticate(credential)
