"""The only contract between the receiver (bot/) and the workers: plain, JSON-safe data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SCAN_TASK = "pullpolicy.scan"  # the Celery task name the receiver sends to
SCAN_QUEUE = "pullpolicy"  # pushes and pull request events: what people are waiting for
# Initial scans of a new installation: thousands at once for an organization. Workers take from
# this queue only when SCAN_QUEUE is empty, so a push never waits behind the onboarding backlog.
BACKLOG_QUEUE = "pullpolicy.backlog"
SCAN_QUEUES = (SCAN_QUEUE, BACKLOG_QUEUE)  # in the order workers take from them
ONBOARDING = (
    "onboarding"  # `pullpolicy scan gitlab GROUP --group`: GitLab has no installation event
)
BACKLOG_REASONS = frozenset({"installation", ONBOARDING})
REVIEW = "review"  # the reason of a job that reviews a person's pull request


@dataclass(frozen=True)
class ScanJob:
    """Scan one repository at one commit (or at its default branch head when `head_sha` is None).

    A `review` job reviews a person's pull request instead: `pr_number` at `head_sha`, with the
    configuration of `base_branch`. A PR from a fork is still read and written on `repo` (the
    base repository), never on the fork."""

    forge: str  # "github" | "gitlab"
    repo: str  # "owner/name" on GitHub, the project path on GitLab
    reason: (
        str  # "push" | "installation" | "onboarding" | "pull_request_closed" | "manual" | "review"
    )
    head_sha: str | None = None
    installation_id: int | None = None  # GitHub App installation
    delivery_id: str | None = None  # the webhook delivery that caused it, for logs
    due_at: float | None = None  # Unix time it was queued to run at: the queue-wait metric
    pr_number: int | None = None  # review: the PR number / MR iid
    base_branch: str | None = None  # review: the branch whose .pullpolicy.yml applies
    draft: bool = False  # review: the PR is a draft (reviewed only if the config says so)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanJob:
        return cls(
            forge=str(data["forge"]),
            repo=str(data["repo"]),
            reason=str(data["reason"]),
            head_sha=_optional_str(data.get("head_sha")),
            installation_id=_optional_int(data.get("installation_id")),
            delivery_id=_optional_str(data.get("delivery_id")),
            due_at=_optional_float(data.get("due_at")),
            pr_number=_optional_int(data.get("pr_number")),
            base_branch=_optional_str(data.get("base_branch")),
            draft=data.get("draft") is True,
        )

    @property
    def queue(self) -> str:
        return BACKLOG_QUEUE if self.reason in BACKLOG_REASONS else SCAN_QUEUE

    @property
    def lock_key(self) -> str:
        """Scans of one repository never run concurrently: they share this key."""
        return f"{self.forge}:{self.repo}"

    @property
    def is_review(self) -> bool:
        return self.reason == REVIEW

    @property
    def review_key(self) -> str:
        """Reviews of one pull request never run concurrently (racing synchronize events)."""
        return f"{self.lock_key}#{self.pr_number}"


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))
