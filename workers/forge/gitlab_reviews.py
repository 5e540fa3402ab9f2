"""Reviews of people's merge requests on GitLab: diffs, discussions on the diff, resolving."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workers.forge.base import ChangedFile, ReviewComment, ReviewThread
from workers.forge.common import check_body
from workers.forge.gitlab_api import GitLabApi
from workers.forge.gitlab_mrs import BODY_LIMIT

PER_PAGE = 100


def changed_files(api: GitLabApi, project: str, number: int) -> list[ChangedFile]:
    """`GET .../merge_requests/:iid/diffs` (GitLab 15.7+), paginated."""
    path = f"{project}/merge_requests/{number}/diffs"
    return [_changed(item) for item in api.pages(path, {"per_page": PER_PAGE})]


def _changed(item: dict[str, Any]) -> ChangedFile:
    if item.get("deleted_file"):
        status = "removed"
    elif item.get("new_file"):
        status = "added"
    elif item.get("renamed_file"):
        status = "renamed"
    else:
        status = "modified"
    renamed = item.get("renamed_file") and item.get("old_path") != item.get("new_path")
    return ChangedFile(
        path=str(item["new_path"]),
        status=status,
        patch=item.get("diff") or None,
        previous_path=str(item["old_path"]) if renamed else None,
    )


def threads(api: GitLabApi, project: str, number: int) -> list[ReviewThread]:
    """Discussions placed on the diff (their first note has a position)."""
    path = f"{project}/merge_requests/{number}/discussions"
    found = []
    for discussion in api.pages(path, {"per_page": PER_PAGE}):
        notes = discussion.get("notes") or []
        if not notes or not isinstance(notes[0].get("position"), dict):
            continue
        first = notes[0]
        found.append(
            ReviewThread(
                id=str(discussion["id"]),
                path=str(first["position"].get("new_path") or ""),
                body=str(first.get("body") or ""),
                replies=tuple(str(note.get("body") or "") for note in notes[1:]),
                resolved=bool(first.get("resolved")),
            )
        )
    return found


def post(
    api: GitLabApi,
    project: str,
    number: int,
    head_sha: str,
    comments: Sequence[ReviewComment],
    *,
    refs: Mapping[str, Any] | None = None,
) -> None:
    """One discussion per comment, on the new-side line the suggestion starts at; the diff
    refs come from the merge request (its `diff_refs` name the version the lines belong to):
    `refs` as the review read them, if they are of `head_sha`, else read again."""
    if not comments:
        return
    for comment in comments:
        check_body(comment.body, BODY_LIMIT, "discussion")
    if refs is None or refs.get("head_sha") != head_sha:
        refs = api.call("get", f"{project}/merge_requests/{number}").get("diff_refs") or {}
    for comment in comments:
        position = {
            "position_type": "text",
            "base_sha": refs.get("base_sha"),
            "start_sha": refs.get("start_sha"),
            "head_sha": refs.get("head_sha") or head_sha,
            "new_path": comment.path,
            "old_path": comment.path,
            "new_line": comment.start,
        }
        body = {"body": comment.body, "position": position}
        api.call("post", f"{project}/merge_requests/{number}/discussions", body=body)


def resolve(api: GitLabApi, project: str, number: int, thread_id: str, reply: str) -> None:
    check_body(reply, BODY_LIMIT, "note")
    path = f"{project}/merge_requests/{number}/discussions/{thread_id}"
    api.call("post", f"{path}/notes", body={"body": reply})
    api.call("put", path, params={"resolved": "true"})
