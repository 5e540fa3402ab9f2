"""The fix PR's state machine as one pure function: facts about the repository in, a `Plan` out.

The transitions are the diagram in README.md "The pull request" (DESIGN.md "PR lifecycle");
`workers/scan/pr.py` gathers the facts from the forge and carries the plan out.

The rule that keeps people's work safe: the bot moves (force-updates) or deletes a branch only
when every commit on it since the default branch is the bot's own, it is neither the default nor
a protected branch, and the write names the head that was checked (the adapters refuse it if the
branch moved since). Whether or not a PR is open, a branch that fails the rule is left alone and
the plan says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    """What the scan does about its PR; the values are the scan outcomes on /status."""

    NOTHING = "none"  # nothing to fix and nothing open
    KEEP = "unchanged"  # the open PR already says it all
    OPEN = "opened"  # write the branch, open a PR
    UPDATE = "updated"  # rewrite the branch on the new head, edit the open PR
    CLOSE = "closed"  # findings gone: close the PR (and delete the branch if only ours)
    HANDS_OFF = "hands-off"  # our open PR's branch has someone else's commits
    BLOCKED = "branch-blocked"  # the default-named branch is not ours to write: left alone
    INVALID_BRANCH = "invalid-branch"  # pull_request.branch names a branch we must not write


@dataclass(frozen=True)
class BranchFacts:
    """The PR branch as the forge shows it right now."""

    head: str | None  # None: the branch does not exist
    protected: bool = False
    foreign_commits: int = 0
    """Commits on the branch since the default branch's head that are not the bot's (commits
    that could not be listed completely count as foreign)."""


@dataclass(frozen=True)
class Facts:
    branch_name: str
    default_branch: str
    configured: bool  # `pull_request.branch` names a branch other than the bot's default one
    has_changes: bool  # the proposal changes files
    too_big: bool  # findings remain that no PR can carry: "all fixed" would be false
    open_request: int | None  # number of the bot's open PR (one with its marker)
    same_body: bool  # the open PR's body already matches the proposal
    hands_off_noted: bool  # the "someone else committed" comment was posted on it already
    branch: BranchFacts | None = None  # None: not looked up (see `needs_branch`)


@dataclass(frozen=True)
class Plan:
    step: Step
    expected_head: str | None = None  # the checked head a write may replace (None: create)
    delete_branch: bool = False
    comment: bool = False  # post the hands-off comment
    problem: str = ""  # why a branch is left alone, for the check run, /status and the log


def needs_branch(facts: Facts) -> bool:
    """Whether `decide` needs `facts.branch`: only when the plan may write or delete it."""
    return _without_branch(facts) is None


def decide(facts: Facts) -> Plan:
    early = _without_branch(facts)
    if early is not None:
        return early
    branch = facts.branch
    if branch is None:
        raise ValueError("decide() needs the branch facts here: see needs_branch()")
    name = facts.branch_name
    writable = branch.head is None or (not branch.protected and branch.foreign_commits == 0)
    if not facts.has_changes:  # our open PR is no longer needed
        return Plan(Step.CLOSE, branch.head, delete_branch=branch.head is not None and writable)
    if writable:
        step = Step.OPEN if facts.open_request is None else Step.UPDATE
        return Plan(step, branch.head)
    if branch.protected:
        problem = f"`{name}` is a protected branch; pullpolicy force-updates its branch"
    else:
        problem = (
            f"branch `{name}` has {branch.foreign_commits} commit(s) that are not pullpolicy's; "
            "it is left as it is"
        )
    if facts.open_request is not None and not branch.protected:
        return Plan(Step.HANDS_OFF, comment=not facts.hands_off_noted, problem=problem)
    if facts.configured:
        return Plan(Step.INVALID_BRANCH, problem=problem)
    hint = "; pullpolicy needs a branch of its own: delete this one or set `pull_request.branch`"
    return Plan(Step.BLOCKED, problem=problem + hint)


def _without_branch(facts: Facts) -> Plan | None:
    """The plan when the branch itself does not matter, else None."""
    if facts.branch_name == facts.default_branch:
        return Plan(
            Step.INVALID_BRANCH,
            problem=(
                f"`{facts.branch_name}` is the default branch; pullpolicy needs a branch of its "
                "own, which it force-updates"
            ),
        )
    if facts.open_request is None:
        return None if facts.has_changes else Plan(Step.NOTHING)
    if facts.has_changes and facts.same_body:
        return Plan(Step.KEEP)
    if not facts.has_changes and facts.too_big:
        return Plan(Step.KEEP)
    return None
