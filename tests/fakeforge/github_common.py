"""Helpers every GitHub route module shares: errors in GitHub's shape, repository lookup."""

from __future__ import annotations

from typing import Any, NoReturn

from tests.fakeforge.github_views import GitHubView
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.web import ApiCall, ApiError, JsonObject

DOCS = "https://docs.github.com/rest"


def error_body(status: int, message: str, errors: list[Any] | None = None) -> JsonObject:
    body: JsonObject = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return body


def fail(status: int, message: str, errors: list[Any] | None = None) -> NoReturn:
    raise ApiError(status, error_body(status, message, errors))


def not_found(message: str = "Not Found") -> NoReturn:
    fail(404, message)


def unprocessable(message: str) -> NoReturn:
    fail(422, message)


def validation_failed(resource: str, **error: Any) -> NoReturn:
    fail(422, "Validation Failed", [{"resource": resource, **error}])


def json_object(call: ApiCall) -> JsonObject:
    body = call.request.json()
    if not isinstance(body, dict):
        fail(400, "Problems parsing JSON")
    return body


def view(call: ApiCall) -> GitHubView:
    return GitHubView(call.request.origin)


def visible_repo(state: ForgeState, call: ApiCall, owner: str, name: str) -> Repository:
    """The repository if it exists and the caller may see it; GitHub answers 404 otherwise."""
    full_name = f"{owner}/{name}"
    repository = state.repo(full_name)
    if repository is None or call.principal is None or not call.principal.can_see(full_name):
        not_found()
    return repository


def caller_login(state: ForgeState, call: ApiCall) -> str:
    assert call.principal is not None  # routes needing a caller are authenticated
    state.user_id(call.principal.login)
    return call.principal.login


def number_param(raw: str) -> int:
    if not raw.isdigit():
        not_found()
    return int(raw)
