"""Pure event interpretation: (forge, headers, payload) -> the scans to queue, or why none.

No I/O here. The one fact the payload cannot tell — whether a repository was scanned before —
comes from the caller as `scanned_before(lock_key)`, asked only for pushes that touched no file
the scanner reads.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.jobs import REVIEW, ScanJob

GITHUB = "github"
GITLAB = "gitlab"

# Mirrors workers.config.model.DEFAULT_BRANCH (the receiver must not import the config machinery);
# a test keeps the two equal.
BOT_BRANCH = "pullpolicy/always-pull-images"
CONFIG_FILENAME = ".pullpolicy.yml"
SCANNED_SUFFIXES = (".yaml", ".yml", ".json")
GITHUB_COMMIT_LIST_LIMIT = 20  # a push listing this many commits may have been cut short
ZERO_SHA = "0" * 40

REASON_PUSH = "push"
REASON_INSTALLATION = "installation"
REASON_PR_CLOSED = "pull_request_closed"
REASON_REVIEW = REVIEW
GITHUB_REVIEW_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
GITLAB_REVIEW_ACTIONS = ("open", "update", "reopen")

PING = "ping: pong"
TAG_PUSH = "push of a tag, not a branch"
BRANCH_DELETED = "branch deleted"
BOT_BRANCH_PUSH = "push to the bot's own branch"
OTHER_BRANCH = "push to a branch other than the default branch"
NOTHING_RELEVANT = "repository scanned before and the push touched no manifest or config file"
NOT_OUR_PR = "pull request not from the bot's branch"
PR_ACTION = "pull request action needs no review"
BOT_PR_NOT_REVIEWED = "the bot's own pull request is never reviewed"
PR_NOT_OPEN = "pull request is not open"
MR_NO_NEW_COMMITS = "merge request updated without new commits"
INSTALLATION_ACTION = "installation action needs no scan"
NO_REPOSITORIES = "installation lists no repositories"
UNHANDLED_EVENT = "event not handled"


class MalformedPayload(ValueError):
    """A handled event whose payload lacks a field the receiver needs."""


@dataclass(frozen=True)
class Ignored:
    """A delivery deliberately not acted on; `reason` is returned to the forge."""

    reason: str


Decision = list[ScanJob] | Ignored
ScannedBefore = Callable[[str], bool]


def interpret(
    forge: str,
    headers: Mapping[str, str],
    payload: Mapping[str, Any],
    *,
    scanned_before: ScannedBefore,
) -> Decision:
    """The scans one delivery asks for. Raises MalformedPayload for unusable handled events."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if forge == GITHUB:
        return _github(lowered, payload, scanned_before)
    if forge == GITLAB:
        return _gitlab(lowered, payload, scanned_before)
    raise ValueError(f"unknown forge {forge!r}")


def github_delivery_id(headers: Mapping[str, str]) -> str | None:
    return _header(headers, "x-github-delivery")


def gitlab_delivery_id(headers: Mapping[str, str]) -> str | None:
    # The event UUID survives GitLab's retries and "Resend request"; Idempotency-Key is the
    # newer name for the same promise.
    return _header(headers, "x-gitlab-event-uuid") or _header(headers, "idempotency-key")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value or None
    return None


# --- GitHub -------------------------------------------------------------------------------


def _github(
    headers: Mapping[str, str], payload: Mapping[str, Any], scanned_before: ScannedBefore
) -> Decision:
    event = headers.get("x-github-event", "")
    delivery = headers.get("x-github-delivery")
    if event == "ping":
        return Ignored(PING)
    if event == "push":
        return _github_push(payload, delivery, scanned_before)
    if event == "installation":
        if payload.get("action") != "created":
            return Ignored(INSTALLATION_ACTION)
        return _installation_jobs(payload, "repositories", delivery)
    if event == "installation_repositories":
        if payload.get("action") != "added":
            return Ignored(INSTALLATION_ACTION)
        return _installation_jobs(payload, "repositories_added", delivery)
    if event == "pull_request":
        return _github_pull_request(payload, delivery)
    return Ignored(f"{UNHANDLED_EVENT}: {event or 'no X-GitHub-Event header'}")


def _github_push(
    payload: Mapping[str, Any], delivery: str | None, scanned_before: ScannedBefore
) -> Decision:
    repository = _object(payload, "repository")
    ref = _string(payload, "ref")
    skip = _branch_skip(ref, bool(payload.get("deleted")), _string(repository, "default_branch"))
    if skip is not None:
        return skip
    job = ScanJob(
        forge=GITHUB,
        repo=_string(repository, "full_name"),
        reason=REASON_PUSH,
        head_sha=_string(payload, "after"),
        installation_id=_installation_id(payload),
        delivery_id=delivery,
    )
    commits = _list(payload, "commits")
    complete = (
        0 < len(commits) < GITHUB_COMMIT_LIST_LIMIT
        and not payload.get("forced")  # a force push can drop commits that touched manifests
    )
    if complete and not _touches_scanned_files(commits) and scanned_before(job.lock_key):
        return Ignored(NOTHING_RELEVANT)
    return [job]


def _installation_jobs(payload: Mapping[str, Any], field: str, delivery: str | None) -> Decision:
    installation_id = _installation_id(payload)
    if installation_id is None:
        raise MalformedPayload("installation.id missing")
    repositories = _list(payload, field)
    if not repositories:
        return Ignored(NO_REPOSITORIES)
    return [
        ScanJob(
            forge=GITHUB,
            repo=_string(_as_object(repository, field), "full_name"),
            reason=REASON_INSTALLATION,
            installation_id=installation_id,
            delivery_id=delivery,
        )
        for repository in repositories
    ]


def _github_pull_request(payload: Mapping[str, Any], delivery: str | None) -> Decision:
    action = payload.get("action")
    if action != "closed" and action not in GITHUB_REVIEW_ACTIONS:
        return Ignored(PR_ACTION)
    repository = _object(payload, "repository")
    pull = _object(payload, "pull_request")
    head = _object(pull, "head")
    head_repo = head.get("repo")
    same_repository = isinstance(head_repo, Mapping) and head_repo.get("full_name") == _string(
        repository, "full_name"
    )
    ours = _string(head, "ref") == BOT_BRANCH and same_repository
    if action != "closed":  # GitHub reports merges as closed + merged
        return _github_review(payload, pull, delivery) if not ours else Ignored(BOT_PR_NOT_REVIEWED)
    if not ours:
        return Ignored(NOT_OUR_PR)
    return [
        ScanJob(
            forge=GITHUB,
            repo=_string(repository, "full_name"),
            reason=REASON_PR_CLOSED,
            installation_id=_installation_id(payload),
            delivery_id=delivery,
        )
    ]


def _github_review(
    payload: Mapping[str, Any], pull: Mapping[str, Any], delivery: str | None
) -> Decision:
    """A person's PR to review: read at its head sha on the base repository (a fork's commits
    are there too, under refs/pull/N/head), written only there."""
    if pull.get("state") not in (None, "open"):
        return Ignored(PR_NOT_OPEN)
    number = pull.get("number", payload.get("number"))
    if not isinstance(number, int) or isinstance(number, bool):
        raise MalformedPayload("pull_request.number is not an integer")
    return [
        ScanJob(
            forge=GITHUB,
            repo=_string(_object(payload, "repository"), "full_name"),
            reason=REASON_REVIEW,
            head_sha=_string(_object(pull, "head"), "sha"),
            installation_id=_installation_id(payload),
            delivery_id=delivery,
            pr_number=number,
            base_branch=_string(_object(pull, "base"), "ref"),
            draft=pull.get("draft") is True,
        )
    ]


def _installation_id(payload: Mapping[str, Any]) -> int | None:
    installation = payload.get("installation")
    if not isinstance(installation, Mapping):
        return None  # a plain repository webhook, not a GitHub App delivery
    value = installation.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedPayload("installation.id is not an integer")
    return value


# --- GitLab -------------------------------------------------------------------------------


def _gitlab(
    headers: Mapping[str, str], payload: Mapping[str, Any], scanned_before: ScannedBefore
) -> Decision:
    event = headers.get("x-gitlab-event", "")
    delivery = gitlab_delivery_id(headers)
    if event == "Push Hook":
        return _gitlab_push(payload, delivery, scanned_before)
    if event == "Tag Push Hook":
        return Ignored(TAG_PUSH)
    if event == "Merge Request Hook":
        return _gitlab_merge_request(payload, delivery)
    if event == "System Hook":
        return _gitlab_system_hook(payload, delivery, scanned_before)
    return Ignored(f"{UNHANDLED_EVENT}: {event or 'no X-Gitlab-Event header'}")


def _gitlab_system_hook(
    payload: Mapping[str, Any], delivery: str | None, scanned_before: ScannedBefore
) -> Decision:
    """A self-managed instance's system hook: every project's pushes and merge requests, in
    the project hook's shape (https://docs.gitlab.com/administration/system_hooks/), named
    by the payload instead of the header."""
    kind = payload.get("object_kind", payload.get("event_name"))
    if kind == "push":
        return _gitlab_push(payload, delivery, scanned_before)
    if kind == "tag_push":
        return Ignored(TAG_PUSH)
    if kind == "merge_request":
        return _gitlab_merge_request(payload, delivery)
    return Ignored(f"{UNHANDLED_EVENT}: System Hook {kind}")


def _gitlab_push(
    payload: Mapping[str, Any], delivery: str | None, scanned_before: ScannedBefore
) -> Decision:
    project = _object(payload, "project")
    after = _string(payload, "after")
    skip = _branch_skip(
        _string(payload, "ref"), after == ZERO_SHA, _string(project, "default_branch")
    )
    if skip is not None:
        return skip
    checkout_sha = payload.get("checkout_sha")
    job = ScanJob(
        forge=GITLAB,
        repo=_string(project, "path_with_namespace"),
        reason=REASON_PUSH,
        head_sha=checkout_sha if isinstance(checkout_sha, str) and checkout_sha else after,
        delivery_id=delivery,
    )
    commits = _list(payload, "commits")
    total = payload.get("total_commits_count")
    complete = len(commits) > 0 and isinstance(total, int) and total <= len(commits)
    if complete and not _touches_scanned_files(commits) and scanned_before(job.lock_key):
        return Ignored(NOTHING_RELEVANT)
    return [job]


def _gitlab_merge_request(payload: Mapping[str, Any], delivery: str | None) -> Decision:
    attributes = _object(payload, "object_attributes")
    action = attributes.get("action")
    if action not in ("close", "merge", *GITLAB_REVIEW_ACTIONS):
        return Ignored(PR_ACTION)
    from_same_project = attributes.get("source_project_id") == attributes.get("target_project_id")
    ours = attributes.get("source_branch") == BOT_BRANCH and from_same_project
    if action in GITLAB_REVIEW_ACTIONS:
        return (
            _gitlab_review(payload, attributes, delivery)
            if not ours
            else Ignored(BOT_PR_NOT_REVIEWED)
        )
    if not ours:
        return Ignored(NOT_OUR_PR)
    return [
        ScanJob(
            forge=GITLAB,
            repo=_string(_object(payload, "project"), "path_with_namespace"),
            reason=REASON_PR_CLOSED,
            delivery_id=delivery,
        )
    ]


def _gitlab_review(
    payload: Mapping[str, Any], attributes: Mapping[str, Any], delivery: str | None
) -> Decision:
    """A person's MR to review, on the target project (a fork's commits are there too)."""
    if attributes.get("action") == "update" and not attributes.get("oldrev"):
        return Ignored(MR_NO_NEW_COMMITS)  # a title, label or description edit
    if attributes.get("state") not in (None, "opened"):
        return Ignored(PR_NOT_OPEN)
    iid = attributes.get("iid")
    if not isinstance(iid, int) or isinstance(iid, bool):
        raise MalformedPayload("object_attributes.iid is not an integer")
    return [
        ScanJob(
            forge=GITLAB,
            repo=_string(_object(payload, "project"), "path_with_namespace"),
            reason=REASON_REVIEW,
            head_sha=_string(_object(attributes, "last_commit"), "id"),
            delivery_id=delivery,
            pr_number=iid,
            base_branch=_string(attributes, "target_branch"),
            draft=attributes.get("draft") is True or attributes.get("work_in_progress") is True,
        )
    ]


def declined_by_a_person(forge: str, payload: Mapping[str, Any]) -> bool:
    """For a closed fix PR/MR: closed unmerged by someone other than its author. The bot closes
    its own PR when its fixes are no longer needed; anyone else closing it declines them."""
    if forge == GITHUB:
        pull = payload.get("pull_request")
        if not isinstance(pull, Mapping) or pull.get("merged"):
            return False
        author, closer = _field(pull, "user", "login"), _field(payload, "sender", "login")
    else:
        attributes = payload.get("object_attributes")
        if not isinstance(attributes, Mapping) or attributes.get("action") != "close":
            return False
        author, closer = attributes.get("author_id"), _field(payload, "user", "id")
    return author is not None and closer is not None and author != closer


def _field(payload: Mapping[str, Any], container: str, name: str) -> object:
    value = payload.get(container)
    return value.get(name) if isinstance(value, Mapping) else None


# --- shared -------------------------------------------------------------------------------


def _branch_skip(ref: str, deleted: bool, default_branch: str) -> Ignored | None:
    if not ref.startswith("refs/heads/"):
        return Ignored(TAG_PUSH)
    if deleted:
        return Ignored(BRANCH_DELETED)
    branch = ref.removeprefix("refs/heads/")
    if branch == BOT_BRANCH:
        return Ignored(BOT_BRANCH_PUSH)
    if branch != default_branch:
        return Ignored(OTHER_BRANCH)
    return None


def is_scanned_path(path: str) -> bool:
    """A path whose change can change a scan: a manifest candidate or the config file."""
    return posixpath.basename(path) == CONFIG_FILENAME or path.lower().endswith(SCANNED_SUFFIXES)


def _touches_scanned_files(commits: list[Any]) -> bool:
    for commit in commits:
        if not isinstance(commit, Mapping):
            raise MalformedPayload("commits holds a non-object")
        for field in ("added", "modified", "removed"):
            paths = commit.get(field) or []
            if not isinstance(paths, list):
                raise MalformedPayload(f"commit {field} is not a list")
            if any(isinstance(path, str) and is_scanned_path(path) for path in paths):
                return True
    return False


def _object(container: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    return _as_object(container.get(field), field)


def _as_object(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{field} is missing or not an object")
    return value


def _string(container: Mapping[str, Any], field: str) -> str:
    value = container.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{field} is missing or not a string")
    return value


def _list(container: Mapping[str, Any], field: str) -> list[Any]:
    value = container.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{field} is not a list")
    return value
