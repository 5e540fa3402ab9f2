"""branch_facts: what the forge shows of the bot's branch, reduced to what the decision needs."""

from __future__ import annotations

from workers.forge.base import BranchState, CommitInfo, RepoRef
from workers.scan.pr import BOT_TRAILER, branch_facts

REPO = RepoRef("github", "acme/deploys", 1)


class OneBranch:
    """A forge that knows one branch state (branch_facts asks for nothing else)."""

    def __init__(self, state: BranchState | None) -> None:
        self.state = state

    def branch_state(self, repo: RepoRef, branch: str, base_sha: str) -> BranchState | None:
        return self.state


def commit(sha: str, message: str) -> CommitInfo:
    return CommitInfo(sha, ("p",), "bot", "bot@example.com", message)


def facts(state: BranchState | None) -> tuple[str | None, bool, int]:
    found = branch_facts(OneBranch(state), REPO, "b", "base")  # type: ignore[arg-type]
    return found.head, found.protected, found.foreign_commits


OURS = commit("h", f"fix\n\n{BOT_TRAILER}\n")


def test_an_absent_branch() -> None:
    assert facts(None) == (None, False, 0)


def test_only_the_bots_commits() -> None:
    assert facts(BranchState("h", False, (OURS,))) == ("h", False, 0)


def test_someone_elses_commit_counts() -> None:
    theirs = commit("h2", "my tweak")
    assert facts(BranchState("h2", True, (theirs, OURS))) == ("h2", True, 1)


def test_no_common_history_is_not_the_bots() -> None:
    assert facts(BranchState("h", False, since_base=None)) == ("h", False, 1)


def test_a_list_the_forge_cut_short_is_not_proof() -> None:
    """Even when the part listed reaches the head and is all the bot's."""
    assert facts(BranchState("h", False, (OURS,), complete=False)) == ("h", False, 1)


def test_a_list_that_does_not_reach_the_head_is_not_proof() -> None:
    assert facts(BranchState("later", False, (OURS,))) == ("later", False, 1)
