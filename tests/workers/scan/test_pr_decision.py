"""The PR state machine (README "The pull request" diagram) as table tests: facts in, plan out,
no server. Covers workers/scan/pr_decision.py; tests/workers/scan/test_scan.py covers the wiring
against the fake forge."""

from __future__ import annotations

from dataclasses import replace

import pytest

from workers.scan.pr_decision import BranchFacts, Facts, Plan, Step, decide, needs_branch

BRANCH = "pullpolicy/always-pull-images"
HEAD = "b" * 40
NO_BRANCH = BranchFacts(head=None)
OURS = BranchFacts(head=HEAD)
THEIRS = BranchFacts(head=HEAD, foreign_commits=2)
PROTECTED = BranchFacts(head=HEAD, protected=True)
BASE = Facts(
    branch_name=BRANCH,
    default_branch="main",
    configured=False,
    has_changes=True,
    too_big=False,
    open_request=None,
    same_body=False,
    hands_off_noted=False,
)


def facts(branch: BranchFacts | None = None, **changes: object) -> Facts:
    return replace(BASE, branch=branch, **changes)  # type: ignore[arg-type]


LEFT_ALONE = "has 2 commit(s) that are not pullpolicy's"

TABLE: list[tuple[str, Facts, Step, str | None, bool]] = [
    # (transition, facts, step, expected head the write may replace, branch deleted)
    ("no findings, no PR → nothing", facts(has_changes=False), Step.NOTHING, None, False),
    ("findings, no branch → create it, open PR", facts(NO_BRANCH), Step.OPEN, None, False),
    ("findings, our stale branch → move it, open PR", facts(OURS), Step.OPEN, HEAD, False),
    ("same findings → nothing", facts(open_request=7, same_body=True), Step.KEEP, None, False),
    ("changed findings → rebuild, edit PR", facts(OURS, open_request=7), Step.UPDATE, HEAD, False),
    (
        "changed findings, branch gone → recreate, edit PR",
        facts(NO_BRANCH, open_request=7),
        Step.UPDATE,
        None,
        False,
    ),
    (
        "findings gone → close, delete our branch",
        facts(OURS, has_changes=False, open_request=7),
        Step.CLOSE,
        HEAD,
        True,
    ),
    (
        "findings gone, branch has others' commits → close, keep it",
        facts(THEIRS, has_changes=False, open_request=7),
        Step.CLOSE,
        HEAD,
        False,
    ),
    (
        "findings gone, protected branch → close, keep it",
        facts(PROTECTED, has_changes=False, open_request=7),
        Step.CLOSE,
        HEAD,
        False,
    ),
    (
        "findings too big for a PR → keep the open one",
        facts(has_changes=False, too_big=True, open_request=7),
        Step.KEEP,
        None,
        False,
    ),
    (
        "someone committed on our PR → hands off",
        facts(THEIRS, open_request=7),
        Step.HANDS_OFF,
        None,
        False,
    ),
    ("someone's branch, default name, no PR → blocked", facts(THEIRS), Step.BLOCKED, None, False),
    (
        "someone's branch, configured name → config error",
        facts(THEIRS, branch_name="dev", configured=True),
        Step.INVALID_BRANCH,
        None,
        False,
    ),
    (
        "protected configured branch → config error",
        facts(PROTECTED, branch_name="release", configured=True),
        Step.INVALID_BRANCH,
        None,
        False,
    ),
    (
        "protected configured branch with our PR → still a config error",
        facts(PROTECTED, branch_name="release", configured=True, open_request=7),
        Step.INVALID_BRANCH,
        None,
        False,
    ),
    ("protected default-named branch → blocked", facts(PROTECTED), Step.BLOCKED, None, False),
    (
        "the default branch configured → config error, even with nothing to fix",
        facts(branch_name="main", configured=True, has_changes=False),
        Step.INVALID_BRANCH,
        None,
        False,
    ),
]


@pytest.mark.parametrize(
    ("facts_", "step", "expected_head", "deleted"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_transitions(facts_: Facts, step: Step, expected_head: str | None, deleted: bool) -> None:
    plan = decide(facts_)
    assert (plan.step, plan.expected_head, plan.delete_branch) == (step, expected_head, deleted)


def test_a_branch_that_is_not_ours_is_never_written_whatever_else_holds() -> None:
    """The rule, over every combination: no write and no delete on a branch with someone
    else's commits, a protected branch, or the default branch."""
    unsafe = [THEIRS, PROTECTED]
    for branch in unsafe:
        for has_changes in (True, False):
            for open_request in (None, 7):
                for configured in (True, False):
                    plan = decide(
                        facts(
                            branch,
                            has_changes=has_changes,
                            open_request=open_request,
                            configured=configured,
                            branch_name="dev" if configured else BRANCH,
                        )
                    )
                    assert plan.step not in (Step.OPEN, Step.UPDATE), plan
                    assert not plan.delete_branch, plan
    for has_changes in (True, False):
        plan = decide(facts(OURS, branch_name="main", configured=True, has_changes=has_changes))
        assert plan.step == Step.INVALID_BRANCH


def test_why_is_said_for_each_branch_left_alone() -> None:
    assert LEFT_ALONE in decide(facts(THEIRS)).problem
    assert "delete this one or set `pull_request.branch`" in decide(facts(THEIRS)).problem
    configured = decide(facts(THEIRS, branch_name="dev", configured=True))
    assert configured.problem == f"branch `dev` {LEFT_ALONE}; it is left as it is"
    protected = decide(facts(PROTECTED, branch_name="release", configured=True))
    assert protected.problem.startswith("`release` is a protected branch")
    default = decide(facts(branch_name="main", configured=True))
    assert default.problem.startswith("`main` is the default branch")


def test_the_hands_off_comment_is_posted_once() -> None:
    assert decide(facts(THEIRS, open_request=7)) == Plan(
        Step.HANDS_OFF, comment=True, problem=f"branch `{BRANCH}` {LEFT_ALONE}; it is left as it is"
    )
    assert not decide(facts(THEIRS, open_request=7, hands_off_noted=True)).comment


def test_the_branch_is_looked_up_only_when_a_write_is_possible() -> None:
    assert not needs_branch(facts(has_changes=False))
    assert not needs_branch(facts(open_request=7, same_body=True))
    assert not needs_branch(facts(branch_name="main"))
    assert needs_branch(facts())
    assert needs_branch(facts(has_changes=False, open_request=7))
    with pytest.raises(ValueError, match="branch facts"):
        decide(facts())
