"""Pull requests, their comments and check runs on GitHub, as normalised types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from workers.forge.base import (
    ChangeRequest,
    ChangeRequestDraft,
    ChangeRequestState,
    CheckReport,
)
from workers.forge.common import batched, check_body
from workers.forge.github_api import GitHubApi

# Characters GitHub accepts in a pull request or comment body (it answers 422 "body is too long
# (maximum is 65536 characters)"; the REST reference states no figure).
BODY_LIMIT = 65_536
# Characters of a check run's output summary ("Maximum length: 65535 characters"):
# https://docs.github.com/en/rest/checks/runs#create-a-check-run
SUMMARY_LIMIT = 65_535
# "The Checks API limits the number of annotations to a maximum of 50 per API request":
# https://docs.github.com/en/rest/checks/runs#update-a-check-run
ANNOTATIONS_PER_REQUEST = 50


def find(
    api: GitHubApi,
    repo: str,
    owner: str,
    branch: str,
    states: Sequence[ChangeRequestState],
    per_page: int,
) -> list[ChangeRequest]:
    """Pull requests from `owner:branch`, newest first; merged ones are closed ones with a
    `merged_at`, so asking for MERGED or CLOSED lists closed pull requests."""
    wanted = set(states)
    if wanted == {ChangeRequestState.OPEN}:
        state = "open"
    elif ChangeRequestState.OPEN in wanted:
        state = "all"
    else:
        state = "closed"
    params = {"state": state, "head": f"{owner}:{branch}", "per_page": per_page}
    # Conditional: an unchanged list (every no-op rescan) is a 304, free of rate limit.
    pulls = [pull(item) for item in api.pages(f"{repo}/pulls", params, conditional=True)]
    matching = [p for p in pulls if p.state in wanted and p.source_branch == branch]
    return sorted(matching, key=lambda p: -p.number)


def create(api: GitHubApi, repo: str, draft: ChangeRequestDraft) -> ChangeRequest:
    check_body(draft.body, BODY_LIMIT, "pull request")
    body = {
        "title": draft.title,
        "body": draft.body,
        "head": draft.source_branch,
        "base": draft.target_branch,
        "draft": draft.draft,
    }
    return with_extras(api, repo, pull(api.call("POST", f"{repo}/pulls", body=body)), draft)


def with_extras(
    api: GitHubApi, repo: str, created: ChangeRequest, draft: ChangeRequestDraft
) -> ChangeRequest:
    """The draft's reviewers, assignees and labels on the pull request just opened."""
    number = created.number
    if draft.reviewers:
        reviewers = {"reviewers": list(draft.reviewers)}
        api.call("POST", f"{repo}/pulls/{number}/requested_reviewers", body=reviewers)
    if draft.assignees:
        assignees = {"assignees": list(draft.assignees)}
        api.call("POST", f"{repo}/issues/{number}/assignees", body=assignees)
    if draft.labels:
        labels = {"labels": list(draft.labels)}
        created = _with_labels(
            created, api.call("POST", f"{repo}/issues/{number}/labels", body=labels)
        )
    return created


def update(
    api: GitHubApi,
    repo: str,
    number: int,
    title: str | None,
    body: str | None,
    labels: Sequence[str] | None,
) -> ChangeRequest:
    """Edit what is given; labels are replaced, not added to."""
    if body is not None:
        check_body(body, BODY_LIMIT, "pull request")
    edits = {key: value for key, value in (("title", title), ("body", body)) if value is not None}
    if edits:
        updated = pull(api.call("PATCH", f"{repo}/pulls/{number}", body=edits))
    else:
        updated = pull(api.call("GET", f"{repo}/pulls/{number}"))
    if labels is not None:
        answer = api.call("PUT", f"{repo}/issues/{number}/labels", body={"labels": list(labels)})
        updated = _with_labels(updated, answer)
    return updated


def close(api: GitHubApi, repo: str, number: int) -> None:
    api.call("PATCH", f"{repo}/pulls/{number}", body={"state": "closed"})


def comment(api: GitHubApi, repo: str, number: int, body: str) -> None:
    check_body(body, BODY_LIMIT, "comment")
    api.call("POST", f"{repo}/issues/{number}/comments", body={"body": body})


def report(api: GitHubApi, repo: str, report: CheckReport) -> None:
    """One completed check run; annotations beyond the first 50 are appended by updates."""
    annotations = [
        {
            "path": a.path,
            "start_line": a.line,
            "end_line": a.line,
            "annotation_level": a.level,
            "message": a.message,
            **({"title": a.title} if a.title else {}),
        }
        for a in report.annotations
    ]
    batches = list(batched(annotations, ANNOTATIONS_PER_REQUEST)) or [[]]
    output = {"title": report.title, "summary": report.summary[:SUMMARY_LIMIT]}
    run = api.call(
        "POST",
        f"{repo}/check-runs",
        body={
            "name": report.name,
            "head_sha": report.sha,
            "status": "completed",
            "conclusion": str(report.conclusion),
            "output": {**output, "annotations": list(batches[0])},
        },
    )
    for batch in batches[1:]:
        update_output = {"output": {**output, "annotations": list(batch)}}
        api.call("PATCH", f"{repo}/check-runs/{run['id']}", body=update_output)


def pull(data: dict[str, Any]) -> ChangeRequest:
    if data["state"] == "open":
        state = ChangeRequestState.OPEN
    elif data.get("merged_at") or data.get("merged"):
        state = ChangeRequestState.MERGED
    else:
        state = ChangeRequestState.CLOSED
    return ChangeRequest(
        number=int(data["number"]),
        url=str(data.get("html_url") or data.get("url", "")),
        state=state,
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        source_branch=str(data["head"]["ref"]),
        target_branch=str(data["base"]["ref"]),
        head_sha=data["head"].get("sha"),
        draft=bool(data.get("draft", False)),
        labels=tuple(str(label["name"]) for label in data.get("labels", [])),
    )


def _with_labels(change: ChangeRequest, labels: list[dict[str, Any]]) -> ChangeRequest:
    return replace(change, labels=tuple(str(label["name"]) for label in labels))
