"""What the forge keeps beside git: change requests, comments, labels, check runs, statuses.

A pull request made through the GitHub API and a merge request made through the GitLab API are
the same `ChangeRequest`; each API renders it in its own shape.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class IdSequence:
    """Ids unique across the whole forge, as real forges hand out."""

    def __init__(self, start: int = 1000) -> None:
        self._counter = itertools.count(start)

    def next(self) -> int:
        return next(self._counter)


@dataclass(frozen=True)
class ChangeRequestRecord:
    """A read-only snapshot for tests (FakeForge.change_requests)."""

    number: int
    title: str
    body: str
    state: str  # "open" | "closed"
    merged: bool
    source_branch: str
    target_branch: str
    labels: list[str]
    reviewers: list[str]
    assignees: list[str]
    draft: bool
    comments: list[str]


@dataclass
class Comment:
    id: int
    body: str
    author: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Review:
    """A submitted pull request review (GitHub)."""

    id: int
    author: str
    body: str
    state: str  # "COMMENTED" | "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
    commit_id: str
    submitted_at: datetime = field(default_factory=utc_now)


@dataclass
class DiffComment:
    """A comment on a change request's diff: a GitHub review comment (a reply names its
    thread's first comment) or a note of a GitLab discussion (`discussion` groups them)."""

    id: int
    author: str
    path: str
    body: str
    commit_id: str
    line: int | None
    start_line: int | None = None
    review_id: int | None = None
    in_reply_to: int | None = None
    discussion: str | None = None
    resolved: bool = False
    diff_hunk: str = ""
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)


@dataclass
class ChangeRequest:
    id: int
    number: int
    title: str
    body: str
    source_branch: str
    target_branch: str
    author: str
    head_sha: str  # last known head; kept when the source branch is deleted
    base_sha: str
    draft: bool = False
    state: str = "open"
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    head_repo: str | None = None  # a fork's full name: its head is refs/pull/N/head here
    reviews: list[Review] = field(default_factory=list)
    diff_comments: list[DiffComment] = field(default_factory=list)

    def touch(self) -> None:
        self.updated_at = utc_now()

    def close(self) -> None:
        self.state = "closed"
        self.closed_at = utc_now()
        self.touch()

    def reopen(self) -> None:
        self.state = "open"
        self.closed_at = None
        self.touch()

    def add_labels(self, names: list[str]) -> None:
        self.labels += [name for name in names if name not in self.labels]
        self.touch()

    def snapshot(self) -> ChangeRequestRecord:
        return ChangeRequestRecord(
            number=self.number,
            title=self.title,
            body=self.body,
            state=self.state,
            merged=self.merged,
            source_branch=self.source_branch,
            target_branch=self.target_branch,
            labels=list(self.labels),
            reviewers=list(self.reviewers),
            assignees=list(self.assignees),
            draft=self.draft,
            comments=[comment.body for comment in self.comments],
        )


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    app_id: int | None
    status: str = "queued"
    conclusion: str | None = None
    external_id: str | None = None
    details_url: str | None = None
    started_at: datetime = field(default_factory=utc_now)
    completed_at: datetime | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        output = {"title": self.title, "summary": self.summary, "text": self.text}
        return {
            "id": self.id,
            "name": self.name,
            "head_sha": self.head_sha,
            "status": self.status,
            "conclusion": self.conclusion,
            "external_id": self.external_id,
            "details_url": self.details_url,
            "output": {**output, "annotations": [dict(a) for a in self.annotations]},
            "annotations": [dict(a) for a in self.annotations],
        }


@dataclass
class CommitStatus:
    id: int
    sha: str
    ref: str | None
    name: str
    status: str
    author: str
    target_url: str | None = None
    description: str | None = None
    coverage: float | None = None
    created_at: datetime = field(default_factory=utc_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sha": self.sha,
            "ref": self.ref,
            "name": self.name,
            "status": self.status,
            "state": self.status,
            "target_url": self.target_url,
            "description": self.description,
        }


@dataclass
class RepoRecords:
    """Everything one repository holds besides its git objects."""

    change_requests: dict[int, ChangeRequest] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    # Issues and pull requests share one number sequence on GitHub; MR iids start at 1 too.
    last_number: int = 0

    def next_number(self) -> int:
        self.last_number += 1
        return self.last_number

    def label(self, name: str, ids: IdSequence) -> Label:
        if name not in self.labels:
            self.labels[name] = Label(ids.next(), name)
        return self.labels[name]

    def open_change_request(self, source_branch: str, target_branch: str) -> ChangeRequest | None:
        for change in self.change_requests.values():
            if (
                change.state == "open"
                and change.head_repo is None
                and change.source_branch == source_branch
                and change.target_branch == target_branch
            ):
                return change
        return None
