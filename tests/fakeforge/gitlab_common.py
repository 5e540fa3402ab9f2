"""Helpers every GitLab route module shares: GitLab's error shapes, project lookup, parameters."""

from __future__ import annotations

from typing import Any, NoReturn

from tests.fakeforge.gitlab_views import GitLabView
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.web import ApiCall, ApiError

_TRUE = {"true", "1", "yes", "t", "on"}


def fail(status: int, message: Any) -> NoReturn:
    raise ApiError(status, {"message": message})


def not_found(what: str) -> NoReturn:
    fail(404, f"404 {what} Not Found")


def bad_request(message: Any) -> NoReturn:
    fail(400, message)


def missing(parameter: str) -> NoReturn:
    """Grape's answer to a missing required parameter."""
    raise ApiError(400, {"error": f"{parameter} is missing"})


def view(call: ApiCall) -> GitLabView:
    return GitLabView(call.request.origin)


def truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def project(state: ForgeState, call: ApiCall, raw_id: str) -> Repository:
    """A project by numeric id or by its (already unquoted) full path."""
    repository = state.repo_by_project_id(int(raw_id)) if raw_id.isdigit() else state.repo(raw_id)
    if (
        repository is None
        or call.principal is None
        or not call.principal.can_see(repository.full_name)
    ):
        not_found("Project")
    return repository


def caller_login(state: ForgeState, call: ApiCall) -> str:
    assert call.principal is not None  # every GitLab route is authenticated
    state.user_id(call.principal.login)
    return call.principal.login


def string_list(raw: object) -> list[str]:
    """GitLab list parameters arrive as a JSON array or a comma-separated string."""
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(item).strip() for item in raw if str(item).strip()]
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def int_list(raw: object, name: str) -> list[int]:
    try:
        return [int(item) for item in string_list(raw)]
    except ValueError:
        raise ApiError(400, {"error": f"{name} is invalid"}) from None
