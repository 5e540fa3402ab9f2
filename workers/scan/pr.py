"""ensure_fix_pr: keep exactly one explained fix PR per repository, whatever happened before.

State lives in the forge: our branch, and the hidden marker at the end of each PR body (the
fingerprints it fixes). A PR closed unmerged declines its fingerprints for good.

Decide first, then act: `branch_facts` reads what the forge shows of the branch,
`pr_decision.decide` (pure: the README's "The pull request" diagram, with table tests in
tests/workers/scan/test_pr_decision.py) picks the plan, `_act` carries it out. When no change
request ever came from the branch, the facts assume it absent instead of reading it: creating it
is a compare-and-swap, and when it exists after all, nothing is written and the branch is read
and the plan decided again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from workers.config.model import DEFAULT_BRANCH, Config
from workers.core.explain import body_digest, commit_message, parse_marker, pr_title
from workers.core.explain_markdown import pr_body
from workers.core.findings import Exempted, Finding
from workers.core.renders import Verification
from workers.forge.base import (
    BranchExists,
    ChangeRequest,
    ChangeRequestDraft,
    ChangeRequestState,
    CommitInfo,
    Conflict,
    FileChange,
    Forge,
    RepoRef,
    Transient,
)
from workers.scan.pr_decision import BranchFacts, Facts, Plan, Step, decide, needs_branch

BOT_TRAILER = "Generated-by: pullpolicy"  # marks the bot's own commits on its branch
ALL_STATES = (ChangeRequestState.OPEN, ChangeRequestState.CLOSED, ChangeRequestState.MERGED)
CLOSE_COMMENT = (
    "Every container in this repository now has `imagePullPolicy: Always` (or is exempted), "
    "so this pull request is no longer needed. Closing it and deleting its branch."
)
CLOSE_KEEP_BRANCH_COMMENT = (
    "Every container in this repository now has `imagePullPolicy: Always` (or is exempted), "
    "so this pull request is no longer needed. Closing it; its branch `{branch}` stays, as it "
    "holds commits that are not pullpolicy's."
)
PERSONS_REQUEST = (
    "an open pull request from `{branch}` (#{number}) is not pullpolicy's: it is left as it is; "
    "close it, or set `pull_request.branch` to another branch, to get pullpolicy's fixes"
)
HANDS_OFF_COMMENT = (
    "Someone else pushed commits to `{branch}`, so pullpolicy will no longer rewrite this "
    "branch. It keeps reporting findings; to let it propose fixes again, close this pull "
    "request and delete the branch."
)


Action = Step  # the scan outcome names the step taken


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
    charts: tuple[Verification, ...] = ()  # rendered charts: verified, or why not


@dataclass(frozen=True)
class PrResult:
    action: Action
    number: int | None = None
    url: str | None = None
    problem: str = ""  # why the branch was left alone (HANDS_OFF, BLOCKED, INVALID_BRANCH)


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
    # Only a PR carrying our marker is ours: a person's PR from the same branch is not touched.
    current = next(
        (
            r
            for r in requests
            if r.state == ChangeRequestState.OPEN and parse_marker(r.body) is not None
        ),
        None,
    )
    body = ""
    if proposal.changes:
        body = pr_body(
            proposal.findings,
            exempted=proposal.exempted,
            skipped=proposal.skipped,
            version=version,
            limit=forge.body_limit,
            held_back=proposal.held_back,
            charts=proposal.charts,
        )
    facts = Facts(
        branch_name=branch,
        default_branch=proposal.target_branch,
        configured=branch != DEFAULT_BRANCH,
        has_changes=bool(proposal.changes),
        too_big=bool(proposal.too_big),
        open_request=None if current is None else current.number,
        same_body=current is not None and bool(body) and _same(current, body),
        hands_off_noted=hands_off_noted,
    )
    if needs_branch(facts) and not requests:
        # No change request ever came from the branch: it is almost always absent, and
        # creating it is a compare-and-swap ("must not exist"), so it is not read first. When
        # it does exist nothing is written and the decision is made again on what it holds.
        assumed = replace(facts, branch=BranchFacts(head=None))
        try:
            return _act(forge, repo, proposal, config, decide(assumed), current, body)
        except _BranchFound:
            pass
    if needs_branch(facts):
        facts = replace(facts, branch=branch_facts(forge, repo, branch, proposal.base_sha))
    try:
        return _act(forge, repo, proposal, config, decide(facts), current, body)
    except _BranchFound as found:
        raise Transient(f"branch {branch} appeared while being created; scanning again") from found


class _BranchFound(Exception):
    """The branch the plan creates exists after all."""


def branch_facts(forge: Forge, repo: RepoRef, branch: str, base_sha: str) -> BranchFacts:
    """What the forge shows of `branch` now: its head, protection, and how many of its commits
    since `base_sha` (the default branch's head) are not the bot's."""
    state = forge.branch_state(repo, branch, base_sha)
    if state is None:
        return BranchFacts(head=None)
    if state.since_base is None:  # no common history with the default branch
        return BranchFacts(state.head, state.protected, foreign_commits=1)
    foreign = _foreign_count(state.since_base, state.head, state.complete)
    return BranchFacts(state.head, state.protected, foreign)


def _act(
    forge: Forge,
    repo: RepoRef,
    proposal: Proposal,
    config: Config,
    plan: Plan,
    current: ChangeRequest | None,
    body: str,
) -> PrResult:
    branch = config.pull_request.branch
    number = None if current is None else current.number
    url = None if current is None else current.url
    if plan.step in (Step.NOTHING, Step.KEEP, Step.BLOCKED, Step.INVALID_BRANCH):
        return PrResult(plan.step, number, url, plan.problem)
    if current is not None and plan.step == Step.HANDS_OFF:
        if plan.comment:
            forge.comment(repo, current.number, HANDS_OFF_COMMENT.format(branch=branch))
        return PrResult(plan.step, current.number, current.url, plan.problem)
    if current is not None and plan.step == Step.CLOSE:
        comment = CLOSE_COMMENT if plan.delete_branch else CLOSE_KEEP_BRANCH_COMMENT
        forge.close_change_request(repo, current.number, comment.format(branch=branch))
        if plan.delete_branch and plan.expected_head is not None:
            with _decide_again_if_moved(branch):
                forge.delete_branch(repo, branch, expected_head=plan.expected_head)
        return PrResult(plan.step, current.number, current.url)

    title = pr_title(proposal.findings, config)
    message = f"{commit_message(proposal.findings, config)}\n\n{BOT_TRAILER}\n"
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
    if current is None and plan.expected_head is None:
        return _open(forge, repo, proposal, draft, message)
    with _decide_again_if_moved(branch):
        forge.commit_files(
            repo,
            branch,
            proposal.base_sha,
            proposal.changes,
            message,
            expected_head=plan.expected_head,
        )
    if current is not None:
        labels = list(config.pull_request.labels) or None
        # An unchanged title is not sent: on GitLab a new title costs a read (its draft state).
        retitle = None if title == current.title else title
        updated = forge.update_change_request(
            repo, current.number, title=retitle, body=body, labels=labels
        )
        return PrResult(Step.UPDATE, updated.number, updated.url)
    try:
        created = forge.create_change_request(repo, draft)
    except Conflict as refused:
        return _adopt(forge, repo, draft, refused)
    return PrResult(Step.OPEN, created.number, created.url)


def _open(
    forge: Forge, repo: RepoRef, proposal: Proposal, draft: ChangeRequestDraft, message: str
) -> PrResult:
    """Create the branch with the fix and open the request from it (one request on GitHub)."""
    try:
        created = forge.open_change_request(
            repo, draft, proposal.base_sha, proposal.changes, message
        )
    except BranchExists as exists:
        raise _BranchFound(str(exists)) from exists
    except Conflict as refused:
        return _adopt(forge, repo, draft, refused)
    return PrResult(Step.OPEN, created.number, created.url)


def _adopt(forge: Forge, repo: RepoRef, draft: ChangeRequestDraft, refused: Conflict) -> PrResult:
    """Opening the request was refused as a duplicate. Another worker opened ours between our
    lookup and now: adopt it. A person's request from the same branch (no marker) is theirs:
    never retitled or rewritten."""
    branch = draft.source_branch
    existing = forge.find_change_requests(repo, branch, [ChangeRequestState.OPEN])
    ours = [r for r in existing if parse_marker(r.body) is not None]
    if ours:
        adopted = forge.update_change_request(
            repo, ours[0].number, title=draft.title, body=draft.body
        )
        return PrResult(Step.OPEN, adopted.number, adopted.url)
    if not existing:
        raise refused
    theirs = existing[0]
    problem = PERSONS_REQUEST.format(branch=branch, number=theirs.number)
    return PrResult(Step.BLOCKED, theirs.number, theirs.url, problem)


@contextmanager
def _decide_again_if_moved(branch: str) -> Iterator[None]:
    """The adapter refused the write because the branch moved after the facts were read (a
    push, maybe someone's work): the scan is retried, and decides on what is there then."""
    try:
        yield
    except Conflict as moved:
        raise Transient(f"branch {branch} moved while being written; scanning again") from moved


def _same(request: ChangeRequest, body: str) -> bool:
    return body_digest(request.body) == body_digest(body)


def _foreign_count(commits: Sequence[CommitInfo], head: str, complete: bool) -> int:
    """Commits that are not the bot's; a list the forge cut short (said so, or does not reach
    the head) cannot prove the rest are ours, so it counts as one more foreign commit."""
    foreign = sum(BOT_TRAILER not in commit.message for commit in commits)
    complete = complete and (not commits or any(commit.sha == head for commit in commits))
    return foreign if complete else foreign + 1
