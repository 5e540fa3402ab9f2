"""GitHub's GraphQL reads of a branch: one query where REST takes two, and REST whenever the
query cannot answer exactly what REST would."""

from __future__ import annotations

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge.base import ChangeRequestState, FileChange, NotFound
from workers.forge.github import GitHubForge
from workers.scan.pr import BOT_TRAILER, branch_facts

BRANCH = "pullpolicy/image-pull-policy"
FILES: dict[str, bytes | str] = {"k8s/pod.yaml": "kind: Pod\n", "README.md": "# r\n"}


@pytest.fixture
def github(github_subject: Subject) -> Subject:
    return github_subject


def bot_commit(subject: Subject, base: str) -> str:
    change = [FileChange("k8s/pod.yaml", b"kind: Pod # fixed\n")]
    message = f"fix\n\n{BOT_TRAILER}\n"
    repo = subject.ref()
    return subject.forge.commit_files(repo, BRANCH, base, change, message, expected_head=None)


def paths(subject: Subject) -> list[str]:
    return [path.removeprefix("/api/v3/repos/acme/deploys") for _, path in subject.fake.requests]


def test_the_branch_and_its_commits_are_one_query(github: Subject) -> None:
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    ours = bot_commit(github, head)
    github.reset_counts()
    facts = branch_facts(github.forge, repo, BRANCH, head)
    assert (facts.head, facts.protected, facts.foreign_commits) == (ours, False, 0)
    assert paths(github) == ["/api/graphql"]


def test_a_moved_default_branch_is_compared_by_rest_with_the_scanned_head(
    github: Subject,
) -> None:
    """The query compares with the default branch as it is now; rewound below the scanned head,
    that comparison would count the scanned head itself as someone's commit on the branch."""
    repo = github.seed(FILES)
    _, first = github.forge.default_branch(repo)
    scanned = github.fake.push_commit(REPO, "main", {"README.md": "# two\n"}, "two")
    ours = bot_commit(github, scanned)
    github.fake.push_commit(REPO, "main", {"README.md": "# rewound\n"}, "again", parent=first)
    github.reset_counts()
    facts = branch_facts(github.forge, repo, BRANCH, scanned)
    assert (facts.head, facts.foreign_commits) == (ours, 0)
    rest = [f"/branches/{BRANCH}", f"/compare/{scanned}...{ours}"]
    assert paths(github) == ["/api/graphql", *rest]


def test_a_github_without_rulesets_in_graphql_is_asked_by_rest(github: Subject) -> None:
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    github.fake.push_commit(REPO, BRANCH, {"x": "x"}, "someone's")
    github.fake.protect_branch(REPO, BRANCH)
    github.fake.drop_github_graphql_field("rules")
    github.reset_counts()
    facts = branch_facts(github.forge, repo, BRANCH, head)
    assert (facts.protected, facts.foreign_commits) == (True, 1)
    assert len(paths(github)) == 3  # the refused query, the branch, the comparison


def test_more_commits_than_one_page_are_not_all_the_bots(github: Subject) -> None:
    """A comparison GitHub lists only in part cannot prove every commit is the bot's."""
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    for number in range(101):
        files = {"k8s/pod.yaml": f"kind: Pod # {number}\n"}
        github.fake.push_commit(REPO, BRANCH, files, f"fix {number}\n\n{BOT_TRAILER}\n")
    assert isinstance(github.forge, GitHubForge)
    state = github.forge.branch_state(repo, BRANCH, head)
    assert state is not None and state.since_base is not None
    assert (len(state.since_base), state.complete) == (100, False)
    assert branch_facts(github.forge, repo, BRANCH, head).foreign_commits == 1


def test_a_ruleset_makes_the_branch_protected(github: Subject) -> None:
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    github.fake.push_commit(REPO, BRANCH, {"x": "x"}, "someone's")
    github.fake.protect_branch(REPO, BRANCH, ruleset=True)
    github.reset_counts()
    assert branch_facts(github.forge, repo, BRANCH, head).protected
    assert paths(github) == ["/api/graphql"]


def test_rulesets_the_app_may_not_read_are_asked_by_rest(github: Subject) -> None:
    """An answer with errors is partial (here: no rulesets), so it is not taken as it is."""
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    github.fake.push_commit(REPO, BRANCH, {"x": "x"}, "someone's")
    github.fake.protect_branch(REPO, BRANCH, ruleset=True)
    github.fake.forbid_github_graphql_field("rules")
    github.reset_counts()
    assert branch_facts(github.forge, repo, BRANCH, head).protected
    assert len(paths(github)) == 3  # the partial answer, the branch, the comparison


def test_a_push_naming_a_new_head_reads_pulls_and_branch_with_the_head(github: Subject) -> None:
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo, requests_from=BRANCH)
    ours = bot_commit(github, head)
    pushed = github.fake.push_commit(REPO, "main", {"README.md": "# two\n"}, "two")
    github.reset_counts()
    assert github.forge.default_branch(repo, requests_from=BRANCH, head_hint=pushed)[1] == pushed
    assert github.forge.find_change_requests(repo, BRANCH, [ChangeRequestState.OPEN]) == []
    facts = branch_facts(github.forge, repo, BRANCH, pushed)
    assert (facts.head, facts.foreign_commits) == (ours, 0)
    assert paths(github) == ["/api/graphql"]


def test_the_branch_read_with_the_head_serves_only_that_branch_and_head(github: Subject) -> None:
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    bot_commit(github, head)
    pushed = github.fake.push_commit(REPO, "main", {"README.md": "# two\n"}, "two")
    github.forge.default_branch(repo, requests_from=BRANCH, head_hint=pushed)
    github.reset_counts()
    assert branch_facts(github.forge, repo, "other", pushed).head is None
    assert paths(github) == ["/api/graphql"]  # asked: what was read was another branch's


def test_a_head_seen_before_is_asked_by_rest_which_github_answers_304(github: Subject) -> None:
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo, requests_from=BRANCH)
    github.reset_counts()
    for _ in range(2):
        github.forge.default_branch(repo, requests_from=BRANCH, head_hint=head)
    assert paths(github) == ["/branches/main", "/branches/main"]
    assert github.fake.not_modified == 1


def test_an_overview_github_cannot_answer_in_full_is_asked_again_without_the_branch(
    github: Subject,
) -> None:
    """Once per installation: afterwards the branch is read by REST, the overview without it."""
    repo = github.seed(FILES)
    github.forge.default_branch(repo)
    theirs = github.fake.push_commit(REPO, BRANCH, {"x": "x"}, "someone's")
    github.fake.protect_branch(REPO, BRANCH, ruleset=True)
    github.fake.forbid_github_graphql_field("rules")
    pushed = github.fake.push_commit(REPO, "main", {"README.md": "# two\n"}, "two")
    github.reset_counts()
    github.forge.default_branch(repo, requests_from=BRANCH, head_hint=pushed)
    assert paths(github) == ["/api/graphql", "/api/graphql"]
    facts = branch_facts(github.forge, repo, BRANCH, pushed)
    assert (facts.protected, facts.foreign_commits) == (True, 1)
    assert paths(github)[2:] == [f"/branches/{BRANCH}", f"/compare/{pushed}...{theirs}"]
    again = github.fake.push_commit(REPO, "main", {"README.md": "# three\n"}, "three")
    github.reset_counts()
    github.forge.default_branch(repo, requests_from=BRANCH, head_hint=again)
    assert paths(github) == ["/api/graphql"]


def test_a_branch_state_github_cannot_answer_is_asked_by_rest_from_then_on(
    github: Subject,
) -> None:
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    bot_commit(github, head)
    github.fake.drop_github_graphql_field("rules")
    github.reset_counts()
    branch_facts(github.forge, repo, BRANCH, head)
    assert paths(github)[0] == "/api/graphql" and len(paths(github)) == 3
    github.reset_counts()
    branch_facts(github.forge, repo, BRANCH, head)
    assert len(paths(github)) == 2 and "/api/graphql" not in paths(github)


def test_a_repository_that_is_not_there_does_not_turn_graphql_off(github: Subject) -> None:
    """Only what GitHub would refuse every time does: a missing repository is NotFound."""
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    with pytest.raises(NotFound):
        github.forge.default_branch(github.ref("acme/gone"), requests_from=BRANCH, head_hint="a")
    bot_commit(github, head)
    pushed = github.fake.push_commit(REPO, "main", {"README.md": "# two\n"}, "two")
    github.forge.default_branch(repo, requests_from=BRANCH, head_hint=pushed)
    github.reset_counts()
    assert branch_facts(github.forge, repo, BRANCH, pushed).head is not None
    assert paths(github) == []  # read with the head, as before


def test_the_branch_read_with_a_head_does_not_outlive_its_scan(github: Subject) -> None:
    """A scan that stopped before using it (a disabled config, a dry run) leaves it unused:
    the next scan, at the same head, reads the branch again."""
    repo = github.seed(FILES)
    _, head = github.forge.default_branch(repo)
    bot_commit(github, head)
    pushed = github.fake.push_commit(REPO, "main", {"README.md": "# two\n"}, "two")
    github.forge.default_branch(repo, requests_from=BRANCH, head_hint=pushed)
    theirs = github.fake.push_commit(REPO, BRANCH, {"n.txt": "n"}, "someone's")
    github.forge.default_branch(repo, requests_from=BRANCH, head_hint=pushed)
    facts = branch_facts(github.forge, repo, BRANCH, pushed)
    assert (facts.head, facts.foreign_commits) == (theirs, 1)
