"""The one small interface every forge adapter implements, over normalised types.

Nothing outside `workers.forge` sees PyGithub or python-gitlab objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from workers.runtime.rate_budget import RateBudget

__all__ = ["RateBudget"]  # re-exported: adapters and callers name it through the interface


@dataclass(frozen=True)
class RepoRef:
    """A repository on a forge: `owner/name` on GitHub, the full project path on GitLab."""

    forge: str  # "github" | "gitlab"
    full_name: str
    installation_id: int | None = None  # GitHub App installation; None for token auth

    def __str__(self) -> str:
        return f"{self.forge}:{self.full_name}"


@dataclass(frozen=True)
class TreeEntry:
    path: str
    sha: str  # blob sha: results can be cached by it
    size: int | None
    mode: str  # "100644", "100755", "120000" (symlink), ...

    @property
    def is_symlink(self) -> bool:
        return self.mode == "120000"


@dataclass(frozen=True)
class FileChange:
    """New content for one path; `content=None` deletes the path."""

    path: str
    content: bytes | None


class ChangeRequestState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


@dataclass(frozen=True)
class ChangeRequest:
    """A GitHub pull request or a GitLab merge request."""

    number: int  # PR number / MR iid
    url: str
    state: ChangeRequestState
    title: str
    body: str
    source_branch: str
    target_branch: str
    head_sha: str | None
    draft: bool = False
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeRequestDraft:
    title: str
    body: str
    source_branch: str
    target_branch: str
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    draft: bool = False


@dataclass(frozen=True)
class BranchInfo:
    head: str
    protected: bool  # the forge restricts pushes to it (a protection rule or the default's)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    message: str


@dataclass(frozen=True)
class BranchState:
    """A branch and its commits since a base commit, as the forge shows them in one read."""

    head: str
    protected: bool  # as BranchInfo.protected
    since_base: tuple[CommitInfo, ...] | None  # newest first; None: no history in common
    complete: bool = True  # False: the forge listed only some of them


class CheckConclusion(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Annotation:
    path: str
    line: int
    message: str
    level: str = "warning"  # "notice" | "warning" | "failure"
    title: str | None = None


@dataclass(frozen=True)
class CheckReport:
    """A result reported on a commit: a check run on GitHub, a commit status on GitLab."""

    name: str
    sha: str
    conclusion: CheckConclusion
    title: str
    summary: str
    annotations: Sequence[Annotation] = field(default=())


@dataclass(frozen=True)
class ChangedFile:
    """One file a change request changes, with its unified-diff hunks (None when the forge
    sends none: binary, too large, or a rename without changes)."""

    path: str
    status: str  # "added" | "modified" | "renamed" | "removed" | ...
    patch: str | None
    previous_path: str | None = None


@dataclass(frozen=True)
class ReviewComment:
    """A comment to place on new-file lines `start`..`end` of a change request's diff."""

    path: str
    start: int
    end: int
    body: str


@dataclass(frozen=True)
class ReviewThread:
    """A diff comment already on a change request and the replies under it (GitHub: a review
    comment thread; GitLab: a discussion). `id` is what `resolve_review_thread` takes."""

    id: str
    path: str
    body: str
    replies: tuple[str, ...] = ()
    resolved: bool = False
    review_id: str = ""  # GitHub: the review the comment belongs to (GitLab: none)


class ForgeError(Exception):
    """Base of every error an adapter raises; messages never contain tokens."""


class NotFound(ForgeError):
    pass


class Conflict(ForgeError):
    """The ref moved underneath us, the branch exists, a duplicate change request, ..."""


class BranchExists(Conflict):
    """The branch to create exists already: nothing was written."""


class PermissionDenied(ForgeError):
    pass


class RateLimited(ForgeError):
    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class Transient(ForgeError):
    """5xx, timeouts, connection resets: safe to retry later."""


@runtime_checkable
class GroupForge(Protocol):
    """A forge whose groups list their projects (GitLab): onboarding without an installation."""

    def group_projects(self, group: str) -> list[str]:
        """Full paths of the group's projects, its subgroups' included, archived ones left out.
        Raises NotFound when the group does not exist or cannot be seen."""
        ...


class Forge(Protocol):
    """What the workers need from a forge, and nothing more."""

    name: str  # "github" | "gitlab"
    api_calls: int  # requests made by this instance, for cost accounting

    def rate_limits(self) -> Mapping[str, RateBudget]:
        """The rate-limit window as last seen, per installation id (or "token"); empty until
        an answer said."""
        ...

    def default_branch(
        self, repo: RepoRef, *, requests_from: str | None = None, head_hint: str | None = None
    ) -> tuple[str, str]:
        """(branch name, head sha) of the default branch. `requests_from` names the branch
        whose change requests `find_change_requests` and whose state `branch_state` are asked
        for next: a forge may read them in the same request (GitHub does at its first contact
        with a repository, and when `head_hint`, the head a push named, is new to it)."""
        ...

    def list_files(self, repo: RepoRef, sha: str) -> list[TreeEntry]:
        """Every blob in the tree at `sha`, recursively."""
        ...

    def read_file(self, repo: RepoRef, path: str, sha: str) -> bytes: ...

    def read_files(self, repo: RepoRef, paths: Sequence[str], sha: str) -> dict[str, bytes]:
        """Contents of many files at `sha`, in as few requests as the forge allows (GitHub:
        GraphQL, a hundred files a query). A path missing at `sha` is left out."""
        ...

    def branch_head(self, repo: RepoRef, branch: str) -> str | None:
        """Head sha of `branch`, or None when it does not exist."""
        ...

    def branch(self, repo: RepoRef, branch: str) -> BranchInfo | None:
        """Head and protection of `branch`, or None when it does not exist."""
        ...

    def branch_state(self, repo: RepoRef, branch: str, base_sha: str) -> BranchState | None:
        """Head and protection of `branch` and its commits that `base_sha` does not reach, or
        None when it does not exist (GitHub: one GraphQL query; GitLab: the branch, then the
        comparison)."""
        ...

    def commit_files(
        self,
        repo: RepoRef,
        branch: str,
        base_sha: str,
        changes: Sequence[FileChange],
        message: str,
        *,
        expected_head: str | None,
    ) -> str:
        """Write one commit (base_sha + changes) to `branch` and return its sha.

        `expected_head=None` creates the branch (Conflict if it exists); otherwise the branch is
        force-moved only if it still points at `expected_head` (Conflict if it moved). On
        GitHub that is one compare-and-swap (GraphQL `updateRefs`); GitLab's API has none, so
        its adapter reads the head right before the forced write (a push landing within that
        round trip is overwritten). The default branch is refused (ValueError).
        """
        ...

    def find_change_requests(
        self, repo: RepoRef, source_branch: str, states: Sequence[ChangeRequestState]
    ) -> list[ChangeRequest]: ...

    def create_change_request(self, repo: RepoRef, draft: ChangeRequestDraft) -> ChangeRequest: ...

    def open_change_request(
        self,
        repo: RepoRef,
        draft: ChangeRequestDraft,
        base_sha: str,
        changes: Sequence[FileChange],
        message: str,
    ) -> ChangeRequest:
        """Create `draft.source_branch` with one commit (base_sha + changes) and open the change
        request from it, in as few requests as the forge allows (GitHub: one GraphQL document;
        GitLab: `commit_files` then `create_change_request`). BranchExists, with nothing
        written, when the branch exists (GitHub: and holds anything but `base_sha`)."""
        ...

    def update_change_request(
        self,
        repo: RepoRef,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> ChangeRequest: ...

    def close_change_request(
        self, repo: RepoRef, number: int, comment: str | None = None
    ) -> None: ...

    def comment(self, repo: RepoRef, number: int, body: str) -> None: ...

    def delete_branch(self, repo: RepoRef, branch: str, *, expected_head: str) -> None:
        """Delete `branch` only if it still points at `expected_head`, the head whose commits
        the caller checked (Conflict if it moved: a push may have brought someone's work), with
        the same compare-and-swap or read-before as `commit_files`. Gone already is fine; the
        default branch is refused (ValueError)."""
        ...

    def report(self, repo: RepoRef, report: CheckReport) -> None: ...

    @property
    def body_limit(self) -> int:
        """Longest change-request body the forge accepts, in characters."""
        ...


class ReviewForge(Forge, Protocol):
    """A forge that can also review people's change requests (both adapters are one)."""

    def change_request(self, repo: RepoRef, number: int) -> ChangeRequest:
        """One change request as it is now (its current head)."""
        ...

    def changed_files(self, repo: RepoRef, number: int) -> list[ChangedFile]:
        """The files a change request changes, with their hunks, at its current head."""
        ...

    def review_threads(self, repo: RepoRef, number: int) -> list[ReviewThread]:
        """Every diff comment thread on the change request, anyone's."""
        ...

    def post_review(
        self,
        repo: RepoRef,
        number: int,
        head_sha: str,
        summary: str,
        comments: Sequence[ReviewComment],
        *,
        request_changes: bool = False,
    ) -> None:
        """Place `comments` on the diff at `head_sha`: one review (event COMMENT, or
        REQUEST_CHANGES with `request_changes`; `summary` its body) on GitHub, one discussion
        per comment on GitLab (which has no review event: `request_changes` changes nothing)."""
        ...

    def review_states(self, repo: RepoRef, number: int) -> dict[str, str]:
        """Each review's state by id (GitHub: `COMMENTED`, `CHANGES_REQUESTED`, `DISMISSED`,
        ...). GitLab has no reviews to dismiss: empty, without a call."""
        ...

    def dismiss_review(self, repo: RepoRef, number: int, review_id: str, message: str) -> None:
        """Dismiss a review that requests changes (GitHub; GitLab: nothing to do)."""
        ...

    def resolve_review_thread(
        self, repo: RepoRef, number: int, thread: ReviewThread, reply: str
    ) -> None:
        """Mark a thread done: GitHub answers it with `reply`; GitLab adds `reply` and
        resolves the discussion."""
        ...
