"""GitLab's default branch, head and the bot branch's merge requests in one GraphQL query, and
its way back to REST where GraphQL cannot answer."""

from __future__ import annotations

import json

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge.base import ChangeRequestDraft, ChangeRequestState, NotFound
from workers.forge.gitlab import GitLabForge

pytestmark = pytest.mark.parametrize("subject", ["gitlab"], indirect=True)

BRANCH = "pullpolicy/fix"
ALL = list(ChangeRequestState)
FILES: dict[str, bytes | str] = {"README.md": "# app\n", "k8s/pod.yaml": "kind: Pod\n"}


def sent(subject: Subject) -> list[str]:
    """The requests since the last reset, as "METHOD last-path-segment"."""
    log = list(subject.fake.requests)
    assert subject.api_calls() == len(log)
    return [f"{method} {path.split('?')[0].rsplit('/', 1)[-1]}" for method, path in log]


def open_request(subject: Subject, labels: tuple[str, ...] = ()) -> int:
    count = len(subject.fake.change_requests(REPO))
    subject.fake.push_commit(REPO, BRANCH, {f"work{count}": "w"}, f"work {count}")
    draft = ChangeRequestDraft("Fix", "body", BRANCH, "main", labels=labels)
    return subject.forge.create_change_request(subject.ref(), draft).number


def scan_start(forge: GitLabForge, subject: Subject) -> tuple[tuple[str, str], list[int]]:
    """What a scan reads first: the default branch, then the bot branch's merge requests."""
    branch = forge.default_branch(subject.ref(), requests_from=BRANCH)
    found = forge.find_change_requests(subject.ref(), BRANCH, ALL)
    return branch, [request.number for request in found]


def test_a_rescan_reads_head_and_merge_requests_in_one_query(subject: Subject) -> None:
    repo = subject.seed(FILES)
    merged = open_request(subject)
    subject.fake.merge(REPO, merged)
    opened = open_request(subject, labels=("k8s",))
    subject.reset_counts()
    forge = subject.forge
    assert isinstance(forge, GitLabForge)
    branch, numbers = scan_start(forge, subject)
    assert branch == ("main", subject.fake.branch_head(REPO, "main"))
    assert numbers == [opened, merged]
    assert sent(subject) == ["POST graphql"]
    by_rest = subject.make().find_change_requests(repo, BRANCH, ALL)
    assert [request.number for request in by_rest] == numbers
    subject.reset_counts()  # a second lookup in the same scan asks REST
    assert forge.find_change_requests(repo, BRANCH, ALL) == by_rest
    assert sent(subject) == ["GET merge_requests"]


def test_an_instance_before_17_10_is_read_by_rest_and_graphql_is_not_asked_again(
    subject: Subject,
) -> None:
    subject.seed(FILES)
    opened = open_request(subject)
    subject.fake.gitlab_before_17_10 = True
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    subject.reset_counts()
    branch, numbers = scan_start(forge, subject)
    assert branch == ("main", subject.fake.branch_head(REPO, "main")) and numbers == [opened]
    assert sent(subject) == ["POST graphql", "GET acme%2Fdeploys", "GET main", "GET merge_requests"]
    subject.reset_counts()
    assert scan_start(forge, subject) == (branch, numbers)
    assert sent(subject) == ["GET main", "GET merge_requests"]  # the refusal is remembered


def test_merge_requests_beyond_one_page_are_read_by_rest(subject: Subject) -> None:
    repo = subject.seed(FILES)
    closed = open_request(subject)
    subject.fake.close(REPO, closed)
    opened = open_request(subject)
    expected = subject.forge.find_change_requests(repo, BRANCH, ALL)
    subject.fake.page_size_cap = 1
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    subject.reset_counts()
    _, numbers = scan_start(forge, subject)
    assert numbers == [opened, closed]
    assert forge.find_change_requests(repo, BRANCH, ALL) == expected
    assert sent(subject)[:2] == ["POST graphql", "GET merge_requests"]


def test_labels_beyond_one_page_are_read_by_rest(subject: Subject) -> None:
    repo = subject.seed(FILES)
    opened = open_request(subject, labels=("a", "b"))
    subject.fake.page_size_cap = 1  # one merge request a page: all there; one label: not
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    subject.reset_counts()
    _, numbers = scan_start(forge, subject)
    assert numbers == [opened]
    assert sent(subject) == ["POST graphql", "GET merge_requests"]
    [request] = forge.find_change_requests(repo, BRANCH, ALL)
    assert set(request.labels) == {"a", "b"}


def test_a_fork_branch_of_the_same_name_is_never_the_bots(subject: Subject) -> None:
    repo = subject.seed(FILES)
    subject.fake.open_pull(REPO, BRANCH, {"z": "z"}, "forker", fork="forker/deploys")
    ours = open_request(subject)
    subject.reset_counts()
    assert scan_start(subject.forge, subject)[1] == [ours]  # type: ignore[arg-type]
    assert [r.number for r in subject.forge.find_change_requests(repo, BRANCH, ALL)] == [ours]


def test_a_project_graphql_cannot_see_is_named_by_rest(subject: Subject) -> None:
    subject.seed(FILES)
    forge = subject.make()
    subject.reset_counts()
    with pytest.raises(NotFound):
        forge.default_branch(subject.ref("acme/missing"), requests_from=BRANCH)
    assert sent(subject) == ["POST graphql", "GET acme%2Fmissing"]
    subject.reset_counts()
    forge.default_branch(subject.ref(), requests_from=BRANCH)
    assert sent(subject) == ["POST graphql"]  # GraphQL itself is fine


OVER_THE_LIMIT = {
    "errors": [{"message": "Query has complexity of 260, which exceeds max complexity of 250"}]
}
FAILED_FOR_NOW = {"data": {"project": None}, "errors": [{"message": "Internal server error"}]}
BY_REST = ["GET main", "GET merge_requests"]


@pytest.mark.parametrize(
    ("status", "body", "next_scan"),
    [
        (200, json.dumps(OVER_THE_LIMIT), BY_REST),
        (404, '{"message": "404 Not Found"}', BY_REST),
        # A resolver's failure says nothing about the instance: GraphQL is asked again.
        (200, json.dumps(FAILED_FOR_NOW), ["POST graphql"]),
    ],
    ids=["over-the-complexity-limit", "no-graphql-endpoint", "failed-for-now"],
)
def test_a_refused_query_falls_back_to_rest_and_only_a_lasting_refusal_is_remembered(
    subject: Subject, status: int, body: str, next_scan: list[str]
) -> None:
    subject.seed(FILES)
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    subject.fake.fail_next(1, status, body=body)
    subject.reset_counts()
    head = subject.fake.branch_head(REPO, "main")
    assert scan_start(forge, subject) == (("main", head), [])
    assert sent(subject) == ["POST graphql", "GET acme%2Fdeploys", *BY_REST]
    subject.reset_counts()
    assert scan_start(forge, subject) == (("main", head), [])
    assert sent(subject) == next_scan


def test_merge_requests_read_in_one_scan_never_answer_the_next(subject: Subject) -> None:
    """The next scan's overview fails for now: its lookup asks REST, not the last scan's read."""
    subject.seed(FILES)
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    forge.default_branch(subject.ref(), requests_from=BRANCH)  # none yet; never looked up
    opened = open_request(subject)
    failed = {"data": {"project": None}, "errors": [{"message": "Internal server error"}]}
    subject.fake.fail_next(1, 200, body=json.dumps(failed))
    assert scan_start(forge, subject)[1] == [opened]


def test_a_head_graphql_does_not_name_is_read_by_rest(subject: Subject) -> None:
    """GitLab answers the default branch but no commit for HEAD (HEAD naming a branch that is
    gone, as imported repositories may have): the branch's head by REST, not "no commits"."""
    subject.seed(FILES)
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    headless = {"data": {"project": {"repository": {"rootRef": "main", "commit": None}}}}
    subject.fake.fail_next(1, 200, body=json.dumps(headless))
    subject.reset_counts()
    assert forge.default_branch(subject.ref()) == ("main", subject.fake.branch_head(REPO, "main"))
    assert sent(subject) == ["POST graphql", "GET main"]


def test_a_partial_answer_is_not_taken_for_the_project(subject: Subject) -> None:
    """Errors beside the data: what failed answered null, and null says something else here."""
    subject.seed(FILES)
    opened = open_request(subject)
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    partial = {
        "data": {"project": {"repository": None, "mergeRequests": {"nodes": []}}},
        "errors": [{"message": "Internal server error", "path": ["project", "repository"]}],
    }
    subject.fake.fail_next(1, 200, body=json.dumps(partial))
    subject.reset_counts()
    head = subject.fake.branch_head(REPO, "main")
    assert scan_start(forge, subject) == (("main", head), [opened])


def test_merge_requests_read_for_one_branch_do_not_answer_for_another(subject: Subject) -> None:
    subject.seed(FILES)
    opened = open_request(subject)
    forge = subject.make()
    assert isinstance(forge, GitLabForge)
    forge.default_branch(subject.ref(), requests_from="someone/else")
    subject.reset_counts()
    assert [r.number for r in forge.find_change_requests(subject.ref(), BRANCH, ALL)] == [opened]
    assert sent(subject) == ["GET merge_requests"]
