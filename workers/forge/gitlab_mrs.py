"""Merge requests, notes and commit statuses on GitLab, as normalised types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from workers.forge.base import (
    ChangeRequest,
    ChangeRequestDraft,
    ChangeRequestState,
    CheckConclusion,
    CheckReport,
    NotFound,
)
from workers.forge.common import check_body
from workers.forge.gitlab_api import GitLabApi

# Characters GitLab accepts in a merge request description or a note (its models validate
# `description`/`note` at 1,000,000): https://docs.gitlab.com/development/database/strings_and_the_text_data_type/
BODY_LIMIT = 1_000_000
# Characters of a commit status description (a varchar(255) column):
# https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit
DESCRIPTION_LIMIT = 255
DRAFT_PREFIX = "Draft: "
# Title prefixes GitLab reads as "draft" (case-insensitive); stripped from normalised titles.
_DRAFT_MARKERS = ("draft:", "[draft]", "(draft)")
_STATES = {
    "opened": ChangeRequestState.OPEN,
    "merged": ChangeRequestState.MERGED,
    "closed": ChangeRequestState.CLOSED,
    "locked": ChangeRequestState.CLOSED,
}
_QUERY_STATES = {
    ChangeRequestState.OPEN: "opened",
    ChangeRequestState.MERGED: "merged",
    ChangeRequestState.CLOSED: "closed",
}
# GitLab statuses have no "neutral": findings that do not fail the check are a success.
_STATUS = {
    CheckConclusion.SUCCESS: "success",
    CheckConclusion.NEUTRAL: "success",
    CheckConclusion.FAILURE: "failed",
}


def find(
    api: GitLabApi,
    project: str,
    branch: str,
    states: Sequence[ChangeRequestState],
    per_page: int,
) -> list[ChangeRequest]:
    wanted = set(states)
    state = _QUERY_STATES[next(iter(wanted))] if len(wanted) == 1 else "all"
    params = {"source_branch": branch, "state": state, "per_page": per_page}
    items = api.pages(f"{project}/merge_requests", params)
    found = [merge_request(item) for item in items if not from_fork(item)]
    matching = [mr for mr in found if mr.state in wanted and mr.source_branch == branch]
    return sorted(matching, key=lambda mr: -mr.number)


def create(api: GitLabApi, project: str, draft: ChangeRequestDraft) -> ChangeRequest:
    check_body(draft.body, BODY_LIMIT, "merge request")
    body: dict[str, Any] = {
        "source_branch": draft.source_branch,
        "target_branch": draft.target_branch,
        "title": DRAFT_PREFIX + draft.title if draft.draft else draft.title,
        "description": draft.body,
        "labels": ",".join(draft.labels),
    }
    if draft.reviewers:
        body["reviewer_ids"] = user_ids(api, draft.reviewers)
    if draft.assignees:
        body["assignee_ids"] = user_ids(api, draft.assignees)
    return merge_request(api.call("post", f"{project}/merge_requests", body=body))


def update(
    api: GitLabApi,
    project: str,
    number: int,
    title: str | None,
    body: str | None,
    labels: Sequence[str] | None,
) -> ChangeRequest:
    """Edit what is given in one request; labels are replaced. A new title keeps the draft
    state, which GitLab keeps in the title, so that costs one read first."""
    path = f"{project}/merge_requests/{number}"
    edits: dict[str, Any] = {}
    if title is not None:
        is_draft = merge_request(api.call("get", path)).draft
        edits["title"] = DRAFT_PREFIX + title if is_draft else title
    if body is not None:
        check_body(body, BODY_LIMIT, "merge request")
        edits["description"] = body
    if labels is not None:
        edits["labels"] = ",".join(labels)
    if not edits:
        return merge_request(api.call("get", path))
    return merge_request(api.call("put", path, body=edits))


def close(api: GitLabApi, project: str, number: int) -> None:
    api.call("put", f"{project}/merge_requests/{number}", body={"state_event": "close"})


def comment(api: GitLabApi, project: str, number: int, body: str) -> None:
    check_body(body, BODY_LIMIT, "note")
    api.call("post", f"{project}/merge_requests/{number}/notes", body={"body": body})


def report(api: GitLabApi, project: str, report: CheckReport) -> None:
    """A commit status; GitLab has no annotations, so they are not sent."""
    description = report.title
    if len(description) > DESCRIPTION_LIMIT:
        description = description[: DESCRIPTION_LIMIT - 1] + "…"
    body = {"state": _STATUS[report.conclusion], "name": report.name, "description": description}
    api.call("post", f"{project}/statuses/{report.sha}", body=body)


def user_ids(api: GitLabApi, usernames: Sequence[str]) -> list[int]:
    ids = []
    for username in usernames:
        users = api.call("get", "/users", params={"username": username})
        if not users:
            raise NotFound(f"gitlab has no user {username}")
        ids.append(int(users[0]["id"]))
    return ids


def from_fork(data: dict[str, Any]) -> bool:
    """A merge request from a fork's branch of the same name (the project's list names those
    too): never the bot's."""
    return data.get("source_project_id") != data.get("target_project_id")


def merge_request(data: dict[str, Any]) -> ChangeRequest:
    draft = bool(data.get("draft", data.get("work_in_progress", False)))
    title = str(data.get("title") or "")
    return ChangeRequest(
        number=int(data["iid"]),
        url=str(data.get("web_url", "")),
        state=_STATES.get(str(data["state"]), ChangeRequestState.CLOSED),
        title=_without_draft_marker(title) if draft else title,
        body=str(data.get("description") or ""),
        source_branch=str(data["source_branch"]),
        target_branch=str(data["target_branch"]),
        head_sha=data.get("sha"),
        draft=draft,
        labels=tuple(_label_names(data.get("labels", []))),
    )


def _without_draft_marker(title: str) -> str:
    for marker in _DRAFT_MARKERS:
        if title.lower().startswith(marker):
            return title[len(marker) :].lstrip()
    return title


def _label_names(labels: Sequence[Any]) -> list[str]:
    # Plain names by default; objects when the request asked `with_labels_details`.
    return [str(label["name"]) if isinstance(label, dict) else str(label) for label in labels]


def project_path(full_name: str) -> str:
    """GitLab addresses a project by its URL-encoded full path."""
    return f"/projects/{quote(full_name, safe='')}"
