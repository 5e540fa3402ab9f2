"""ensure_fix_pr: keep exactly one explained fix PR per repository, whatever happened before.

State lives in the forge: our branch, and the hidden marker at the end of each PR body (the
fingerprints it fixes). A PR closed unmerged declines its fingerprints for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from workers.config.model import Config
from workers.core.explain import body_digest, commit_message, parse_marker, pr_title
from workers.core.explain_markdown import pr_body
from workers.core.findings import Exempted, Finding
from workers.forge.base import (
    ChangeRequest,
    ChangeRequestDraft,
    ChangeRequestState,
    CommitInfo,
    Conflict,
    FileChange,
    Forge,
    RepoRef,
)

BOT_TRAILER = "Generated-by: pullpolicy"  # marks the bot's own commits on its branch
ALL_STATES = (ChangeRequestState.OPEN, ChangeRequestState.CLOSED, ChangeRequestState.MERGED)
CLOSE_COMMENT = (
    "Every container in this repository now has `imagePullPolicy: Always` (or is exempted), "
    "so this pull request is no longer needed. Closing it and deleting its branch."
)
HANDS_OFF_COMMENT = (
    "Someone else pushed commits to `{branch}`, so pullpolicy will no longer rewrite this "
    "branch. It keeps reporting findings; close this pull request to let it open a fresh one."
)


class Action(StrEnum):
    NONE = "none"  # nothing to fix and nothing open
    OPENED = "opened"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CLOSED = "closed"
    HANDS_OFF = "hands-off"  # a human commit on our branch: left alone


MAX_FIXES_PER_PR = 1000
"""A bigger pull request is not reviewable (and its marker would not fit GitHub's 65,536-character
body at ~19 characters per fix): files beyond this many fixes wait for the next one."""


@dataclass(frozen=True)
class Proposal:
    """What the bot wants the repository to look like, from one scan at `base_sha`."""

    base_sha: str
    target_branch: str
    findings: tuple[Finding, ...]  # the ones the changes fix
    changes: tuple[FileChange, ...]
    exempted: tuple[Exempted, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    held_back: int = 0  # fixes left for the next PR: see MAX_FIXES_PER_PR
    too_big: tuple[str, ...] = ()  # files with more fixes than one PR carries: not proposed


@dataclass(frozen=True)
class PrResult:
    action: Action
    number: int | None = None
    url: str | None = None


def declined_fingerprints(requests: Sequence[ChangeRequest]) -> frozenset[str]:
    """Fingerprints of every bot PR that was closed without being merged."""
    declined: set[str] = set()
    for request in requests:
        if request.state == ChangeRequestState.CLOSED:
            marker = parse_marker(request.body)
            if marker is not None:
                declined.update(marker[1])
    return frozenset(declined)


def ensure_fix_pr(
    forge: Forge,
    repo: RepoRef,
    proposal: Proposal,
    config: Config,
    *,
    version: str,
    requests: Sequence[ChangeRequest],
    hands_off_noted: bool = False,
) -> PrResult:
    """Open, update or close our PR so that it matches `proposal`. Idempotent.

    `requests` are our branch's change requests (from `find_change_requests`);
    `hands_off_noted` says we already commented about human commits on this PR.
    """
    branch = config.pull_request.branch
    current = next((r for r in requests if r.state == ChangeRequestState.OPEN), None)
    if not proposal.changes:
        if current is None:
            return PrResult(Action.NONE)
        if proposal.too_big:  # findings remain: "all fixed, closing" would be false
            return PrResult(Action.UNCHANGED, current.number, current.url)
        forge.close_change_request(repo, current.number, CLOSE_COMMENT)
        # Someone else's commits on the branch are theirs to delete, not ours.
        if not _foreign_commits(forge.branch_commits(repo, branch, proposal.base_sha)):
            forge.delete_branch(repo, branch)
        return PrResult(Action.CLOSED, current.number, current.url)

    body = pr_body(
        proposal.findings,
        exempted=proposal.exempted,
        skipped=proposal.skipped,
        version=version,
        limit=forge.body_limit,
        held_back=proposal.held_back,
    )
    title = pr_title(proposal.findings, config)
    if current is not None and _same(current, body):
        return PrResult(Action.UNCHANGED, current.number, current.url)

    head = forge.branch_head(repo, branch)
    if current is not None and head is not None:
        foreign = _foreign_commits(forge.branch_commits(repo, branch, proposal.base_sha))
        if foreign:
            if not hands_off_noted:
                forge.comment(repo, current.number, HANDS_OFF_COMMENT.format(branch=branch))
            return PrResult(Action.HANDS_OFF, current.number, current.url)

    message = f"{commit_message(proposal.findings, config)}\n\n{BOT_TRAILER}\n"
    forge.commit_files(
        repo, branch, proposal.base_sha, proposal.changes, message, expected_head=head
    )
    if current is not None:
        labels = list(config.pull_request.labels) or None
        updated = forge.update_change_request(
            repo, current.number, title=title, body=body, labels=labels
        )
        return PrResult(Action.UPDATED, updated.number, updated.url)
    draft = ChangeRequestDraft(
        title=title,
        body=body,
        source_branch=branch,
        target_branch=proposal.target_branch,
        labels=config.pull_request.labels,
        reviewers=config.pull_request.reviewers,
        assignees=config.pull_request.assignees,
        draft=config.pull_request.draft,
    )
    try:
        created = forge.create_change_request(repo, draft)
    except Conflict:
        # Another worker opened it between our lookup and now: adopt theirs.
        states = [ChangeRequestState.OPEN]
        existing = forge.find_change_requests(repo, branch, states)
        if not existing:
            raise
        created = forge.update_change_request(repo, existing[0].number, title=title, body=body)
    return PrResult(Action.OPENED, created.number, created.url)


def _same(request: ChangeRequest, body: str) -> bool:
    return body_digest(request.body) == body_digest(body)


def _foreign_commits(commits: Sequence[CommitInfo]) -> list[CommitInfo]:
    return [commit for commit in commits if BOT_TRAILER not in commit.message]
