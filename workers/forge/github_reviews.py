"""Reviews of people's pull requests on GitHub: changed files, review comments, replies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workers.forge.base import ChangedFile, ReviewComment, ReviewThread
from workers.forge.common import check_body
from workers.forge.github_api import GitHubApi
from workers.forge.github_pulls import BODY_LIMIT

# "Responses include a maximum of 3000 files": the list stops there
# (https://docs.github.com/en/rest/pulls/pulls#list-pull-requests-files).
PER_PAGE = 100


def changed_files(api: GitHubApi, repo: str, number: int) -> list[ChangedFile]:
    return [
        ChangedFile(
            path=str(item["filename"]),
            status=str(item["status"]),
            patch=item.get("patch"),
            previous_path=item.get("previous_filename"),
        )
        for item in api.pages(f"{repo}/pulls/{number}/files", {"per_page": PER_PAGE})
    ]


def threads(api: GitHubApi, repo: str, number: int) -> list[ReviewThread]:
    """Review comments grouped into threads: a top comment and the replies naming it."""
    comments: list[dict[str, Any]] = list(
        api.pages(f"{repo}/pulls/{number}/comments", {"per_page": PER_PAGE})
    )
    replies: dict[int, list[str]] = {}
    for comment in comments:
        parent = comment.get("in_reply_to_id")
        if parent is not None:
            replies.setdefault(int(parent), []).append(str(comment.get("body") or ""))
    return [
        ReviewThread(
            id=str(comment["id"]),
            path=str(comment["path"]),
            body=str(comment.get("body") or ""),
            replies=tuple(replies.get(int(comment["id"]), ())),
            review_id=str(comment.get("pull_request_review_id") or ""),
        )
        for comment in comments
        if comment.get("in_reply_to_id") is None
    ]


def post(
    api: GitHubApi,
    repo: str,
    number: int,
    head_sha: str,
    summary: str,
    comments: Sequence[ReviewComment],
    *,
    request_changes: bool = False,
) -> None:
    """One review, event COMMENT (REQUEST_CHANGES only when asked): multi-line comments name
    their first line as `start_line`, both on the new side (RIGHT)."""
    for comment in comments:
        check_body(comment.body, BODY_LIMIT, "review comment")
    body = {
        "commit_id": head_sha,
        "event": "REQUEST_CHANGES" if request_changes else "COMMENT",
        "body": summary,
        "comments": [_comment(comment) for comment in comments],
    }
    api.call("POST", f"{repo}/pulls/{number}/reviews", body=body)


def _comment(comment: ReviewComment) -> dict[str, Any]:
    placed: dict[str, Any] = {
        "path": comment.path,
        "body": comment.body,
        "line": comment.end,
        "side": "RIGHT",
    }
    if comment.start < comment.end:
        placed |= {"start_line": comment.start, "start_side": "RIGHT"}
    return placed


def reply(api: GitHubApi, repo: str, number: int, thread_id: str, text: str) -> None:
    check_body(text, BODY_LIMIT, "review comment")
    path = f"{repo}/pulls/{number}/comments/{thread_id}/replies"
    api.call("POST", path, body={"body": text})


def states(api: GitHubApi, repo: str, number: int) -> dict[str, str]:
    """`GET .../pulls/:n/reviews`: each review's state by id (a dismissed one: DISMISSED)."""
    path = f"{repo}/pulls/{number}/reviews"
    return {
        str(item["id"]): str(item.get("state") or "")
        for item in api.pages(path, {"per_page": PER_PAGE})
    }


def dismiss(api: GitHubApi, repo: str, number: int, review_id: str, message: str) -> None:
    """Only a review that approves or requests changes can be dismissed (422 otherwise)."""
    check_body(message, BODY_LIMIT, "dismissal message")
    path = f"{repo}/pulls/{number}/reviews/{review_id}/dismissals"
    api.call("PUT", path, body={"message": message, "event": "DISMISS"})
