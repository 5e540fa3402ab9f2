"""bot.webhooks.events over every vendored real payload, and over variants derived from them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.webhooks import events
from bot.webhooks.events import Ignored, MalformedPayload, interpret, is_scanned_path
from tests.bot.helpers import GITLAB_EVENTS, commit, github_event, payload, vendored
from workers.config.model import DEFAULT_BRANCH
from workers.jobs import ScanJob

DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
HELLO = "Codertocat/Hello-World"
HELLO_PUSH_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


def never_scanned(_: str) -> bool:
    return False


def always_scanned(_: str) -> bool:
    return True


def github(
    name_or_payload: str | dict[str, Any],
    event: str | None = None,
    *,
    scanned_before: events.ScannedBefore = never_scanned,
) -> events.Decision:
    data = (
        payload("github", name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    )
    event = event or github_event(name_or_payload if isinstance(name_or_payload, str) else "")
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": DELIVERY}
    return interpret(events.GITHUB, headers, data, scanned_before=scanned_before)


def gitlab(
    data: dict[str, Any], event: str, *, scanned_before: events.ScannedBefore = never_scanned
) -> events.Decision:
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": DELIVERY}
    return interpret(events.GITLAB, headers, data, scanned_before=scanned_before)


def job(repo: str, reason: str, **fields: Any) -> ScanJob:
    forge = fields.pop("forge", events.GITHUB)
    return ScanJob(forge=forge, repo=repo, reason=reason, delivery_id=DELIVERY, **fields)


EXPECTED_GITHUB: dict[str, events.Decision] = {
    "ping.0": Ignored(events.PING),
    "ping.3": Ignored(events.PING),
    "push.0": Ignored(events.TAG_PUSH),
    "push.1": Ignored(events.TAG_PUSH),
    "push.4": [job(HELLO, "push", head_sha=HELLO_PUSH_SHA, installation_id=1)],
    "push.5": [job(HELLO, "push", head_sha=HELLO_PUSH_SHA, installation_id=1)],
    "pull_request.0": [
        job(
            HELLO,
            "review",
            head_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            pr_number=2,
            base_branch="master",
        )
    ],
    "pull_request.3": Ignored(events.NOT_OUR_PR),
    "pull_request.4": Ignored(events.NOT_OUR_PR),
    "installation.0": Ignored(events.INSTALLATION_ACTION),
    "installation.1": [job(HELLO, "installation", installation_id=957387)],
    "installation.2": [job(HELLO, "installation", installation_id=957387)],
    "installation.4": Ignored(events.INSTALLATION_ACTION),
    "installation_repositories.0": [
        job("Codertocat/Space", "installation", installation_id=957387)
    ],
    "installation_repositories.1": [
        job("Codertocat/Space", "installation", installation_id=957387)
    ],
    "installation_repositories.2": Ignored(events.INSTALLATION_ACTION),
}

GITLAB_PUSH_SHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
EXPECTED_GITLAB: dict[str, events.Decision] = {
    # total_commits_count (4) exceeds the commits listed (2): the list is cut, so it scans.
    "push": [job("mike/diaspora", "push", forge=events.GITLAB, head_sha=GITLAB_PUSH_SHA)],
    "tag_push": Ignored(events.TAG_PUSH),
    "merge_request": [
        job(
            "gitlabhq/gitlab-test",
            "review",
            forge=events.GITLAB,
            head_sha="da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            pr_number=1,
            base_branch="master",
        )
    ],
}


def test_every_vendored_payload_has_an_expectation() -> None:
    assert vendored("github") == sorted(EXPECTED_GITHUB)
    assert vendored("gitlab") == sorted(EXPECTED_GITLAB)


@pytest.mark.parametrize("name", sorted(EXPECTED_GITHUB))
def test_vendored_github_payload(name: str) -> None:
    assert github(name) == EXPECTED_GITHUB[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_GITLAB))
def test_vendored_gitlab_payload(name: str) -> None:
    assert gitlab(payload("gitlab", name), GITLAB_EVENTS[name]) == EXPECTED_GITLAB[name]


def test_bot_branch_is_the_workers_default_branch() -> None:
    assert events.BOT_BRANCH == DEFAULT_BRANCH


def test_header_names_are_case_insensitive() -> None:
    headers = {"x-github-event": "push", "X-GITHUB-DELIVERY": DELIVERY}
    decision = interpret(
        events.GITHUB, headers, payload("github", "push.4"), scanned_before=never_scanned
    )
    assert decision == EXPECTED_GITHUB["push.4"]


# --- pushes ------------------------------------------------------------------------------


def test_push_to_another_branch_is_ignored() -> None:
    data = payload("github", "push.4")
    data["ref"] = "refs/heads/feature"
    assert github(data, "push") == Ignored(events.OTHER_BRANCH)


def test_push_to_the_bot_branch_is_ignored() -> None:
    data = payload("github", "push.4")
    data["ref"] = f"refs/heads/{DEFAULT_BRANCH}"
    assert github(data, "push") == Ignored(events.BOT_BRANCH_PUSH)


def test_default_branch_deletion_is_ignored() -> None:
    data = payload("github", "push.4")
    data.update(deleted=True, after="0" * 40, commits=[], head_commit=None)
    assert github(data, "push") == Ignored(events.BRANCH_DELETED)


def test_push_is_matched_against_the_repositorys_own_default_branch() -> None:
    data = payload("github", "push.4")
    data["ref"] = "refs/heads/main"
    data["repository"]["default_branch"] = "main"
    assert github(data, "push") == EXPECTED_GITHUB["push.4"]


def _recording(asked: list[str]) -> events.ScannedBefore:
    def scanned(key: str) -> bool:
        asked.append(key)
        return True

    return scanned


def test_irrelevant_push_to_a_scanned_repository_is_ignored_without_other_lookups() -> None:
    asked: list[str] = []
    # push.4 adds README.md only.
    assert github("push.4", scanned_before=_recording(asked)) == Ignored(events.NOTHING_RELEVANT)
    assert asked == [f"github:{HELLO}"]


def test_irrelevant_push_to_a_never_scanned_repository_scans() -> None:
    assert github("push.4", scanned_before=never_scanned) == EXPECTED_GITHUB["push.4"]


@pytest.mark.parametrize(
    "path",
    ["deploy/app.yaml", "k8s/Service.YML", "charts/x/values.yml", "list.json", ".pullpolicy.yml"],
)
def test_push_touching_a_scanned_file_scans_even_when_scanned_before(path: str) -> None:
    for field in ("added", "modified", "removed"):
        data = payload("github", "push.4")
        data["commits"].append({"id": "c2", "added": [], "modified": [], "removed": []})
        data["commits"][-1][field] = [path]
        asked: list[str] = []
        decision = github(data, "push", scanned_before=_recording(asked))
        assert decision == EXPECTED_GITHUB["push.4"]
        assert asked == []  # a relevant change needs no state lookup at all


def test_possibly_truncated_commit_list_scans() -> None:
    data = payload("github", "push.4")
    data["commits"] = [commit("README.md") for _ in range(events.GITHUB_COMMIT_LIST_LIMIT)]
    assert github(data, "push", scanned_before=always_scanned) == EXPECTED_GITHUB["push.4"]
    data["commits"] = data["commits"][:-1]
    assert github(data, "push", scanned_before=always_scanned) == Ignored(events.NOTHING_RELEVANT)


def test_forced_push_or_empty_commit_list_scans() -> None:
    forced = payload("github", "push.4")
    forced["forced"] = True
    assert github(forced, "push", scanned_before=always_scanned) == EXPECTED_GITHUB["push.4"]
    empty = payload("github", "push.4")
    empty["commits"] = []
    assert github(empty, "push", scanned_before=always_scanned) == EXPECTED_GITHUB["push.4"]


def test_plain_repository_webhook_push_has_no_installation() -> None:
    data = payload("github", "push.4")
    del data["installation"]
    decision = github(data, "push")
    assert isinstance(decision, list)
    assert decision[0].installation_id is None


def test_gitlab_complete_irrelevant_push_to_scanned_project_is_ignored() -> None:
    data = payload("gitlab", "push")
    data["total_commits_count"] = len(data["commits"])  # nothing cut: CHANGELOG and .rb only
    assert gitlab(data, "Push Hook", scanned_before=always_scanned) == Ignored(
        events.NOTHING_RELEVANT
    )
    data["commits"][0]["modified"].append("deploy/web.yaml")
    assert gitlab(data, "Push Hook", scanned_before=always_scanned) == EXPECTED_GITLAB["push"]


def test_gitlab_truncated_push_scans_even_when_scanned_before() -> None:
    data = payload("gitlab", "push")  # total_commits_count 4, two commits listed
    assert gitlab(data, "Push Hook", scanned_before=always_scanned) == EXPECTED_GITLAB["push"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ref": "refs/heads/feature"}, events.OTHER_BRANCH),
        ({"ref": f"refs/heads/{DEFAULT_BRANCH}"}, events.BOT_BRANCH_PUSH),
        ({"after": "0" * 40, "checkout_sha": None}, events.BRANCH_DELETED),
    ],
)
def test_gitlab_pushes_that_are_ignored(change: dict[str, Any], reason: str) -> None:
    data = payload("gitlab", "push")
    data.update(change)
    assert gitlab(data, "Push Hook") == Ignored(reason)


def test_scanned_paths() -> None:
    assert is_scanned_path("a/b/c.yaml")
    assert is_scanned_path("X.JSON")
    assert is_scanned_path("sub/.pullpolicy.yml")
    assert not is_scanned_path("README.md")
    assert not is_scanned_path("yaml")
    assert not is_scanned_path("templates/_helpers.tpl")


# --- pull requests -----------------------------------------------------------------------


@pytest.mark.parametrize("merged", [False, True])
def test_closing_the_bot_pull_request_scans(merged: bool) -> None:
    data = payload("github", "pull_request.3")
    data["pull_request"]["head"]["ref"] = DEFAULT_BRANCH
    data["pull_request"]["merged"] = merged
    assert github(data, "pull_request") == [job(HELLO, "pull_request_closed", installation_id=1)]


def test_bot_branch_pull_request_from_a_fork_is_ignored() -> None:
    data = payload("github", "pull_request.3")
    data["pull_request"]["head"]["ref"] = DEFAULT_BRANCH
    data["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World"
    assert github(data, "pull_request") == Ignored(events.NOT_OUR_PR)


def test_opening_the_bot_pull_request_is_ignored() -> None:
    data = payload("github", "pull_request.0")
    data["pull_request"]["head"]["ref"] = DEFAULT_BRANCH
    assert github(data, "pull_request") == Ignored(events.BOT_PR_NOT_REVIEWED)


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "ready_for_review"])
def test_a_persons_pull_request_is_reviewed(action: str) -> None:
    data = payload("github", "pull_request.0")
    data["action"] = action
    data["installation"] = {"id": 7}
    data["pull_request"]["draft"] = True
    (review,) = github(data, "pull_request")  # type: ignore[misc]
    assert review.is_review and review.pr_number == 2 and review.draft
    assert review.installation_id == 7 and review.base_branch == "master"
    assert review.review_key == f"github:{HELLO}#2"


def test_a_fork_pull_request_is_reviewed_on_the_base_repository() -> None:
    data = payload("github", "pull_request.0")
    data["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World"
    data["pull_request"]["head"]["ref"] = DEFAULT_BRANCH  # a fork's branch is not the bot's
    (review,) = github(data, "pull_request")  # type: ignore[misc]
    assert review.repo == HELLO and review.is_review


@pytest.mark.parametrize("action", ["edited", "labeled", "assigned", "converted_to_draft"])
def test_other_pull_request_actions_are_ignored(action: str) -> None:
    data = payload("github", "pull_request.0")
    data["action"] = action
    assert github(data, "pull_request") == Ignored(events.PR_ACTION)


def test_a_review_job_survives_the_queue() -> None:
    (review,) = github("pull_request.0")  # type: ignore[misc]
    assert ScanJob.from_dict(review.to_dict()) == review


def test_merge_request_updates_without_commits_are_ignored() -> None:
    data = payload("gitlab", "merge_request")
    data["object_attributes"]["action"] = "update"
    assert gitlab(data, "Merge Request Hook") == Ignored(events.MR_NO_NEW_COMMITS)
    data["object_attributes"]["oldrev"] = "a" * 40
    (review,) = gitlab(data, "Merge Request Hook")  # type: ignore[misc]
    assert review.is_review and review.pr_number == 1


def _bot_merge_request(action: str) -> dict[str, Any]:
    data = payload("gitlab", "merge_request")
    data["object_attributes"].update(action=action, source_branch=DEFAULT_BRANCH)
    return data


@pytest.mark.parametrize("action", ["close", "merge"])
def test_closing_or_merging_the_bot_merge_request_scans(action: str) -> None:
    expected = [job("gitlabhq/gitlab-test", "pull_request_closed", forge=events.GITLAB)]
    assert gitlab(_bot_merge_request(action), "Merge Request Hook") == expected


def test_other_merge_request_actions_or_branches_are_ignored() -> None:
    assert gitlab(_bot_merge_request("update"), "Merge Request Hook") == Ignored(
        events.BOT_PR_NOT_REVIEWED
    )
    approved = payload("gitlab", "merge_request")
    approved["object_attributes"]["action"] = "approved"
    assert gitlab(approved, "Merge Request Hook") == Ignored(events.PR_ACTION)
    other = payload("gitlab", "merge_request")
    other["object_attributes"]["action"] = "merge"
    assert gitlab(other, "Merge Request Hook") == Ignored(events.NOT_OUR_PR)
    forked = _bot_merge_request("merge")
    forked["object_attributes"]["source_project_id"] = 99
    assert gitlab(forked, "Merge Request Hook") == Ignored(events.NOT_OUR_PR)


# --- installations -----------------------------------------------------------------------


def test_installation_with_many_repositories_gives_one_job_each() -> None:
    data = payload("github", "installation.1")
    template = data["repositories"][0]
    data["repositories"] = [dict(template, full_name=f"Codertocat/repo-{n}") for n in range(3)]
    decision = github(data, "installation")
    assert decision == [
        job(f"Codertocat/repo-{n}", "installation", installation_id=957387) for n in range(3)
    ]


def test_installation_without_listed_repositories_is_ignored() -> None:
    data = payload("github", "installation.1")
    data["repositories"] = []
    assert github(data, "installation") == Ignored(events.NO_REPOSITORIES)


# --- everything else ---------------------------------------------------------------------


def test_unhandled_events_are_ignored_with_their_name() -> None:
    decision = github(payload("github", "push.4"), "issues")
    assert decision == Ignored(f"{events.UNHANDLED_EVENT}: issues")
    assert gitlab({}, "Note Hook") == Ignored(f"{events.UNHANDLED_EVENT}: Note Hook")


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.pop("repository"),
        lambda data: data.update(ref=7),
        lambda data: data["repository"].pop("full_name"),
        lambda data: data.update(commits="not a list"),
        lambda data: data.update(commits=["not an object"]),
        lambda data: data["installation"].update(id="1"),
    ],
)
def test_handled_event_with_missing_fields_is_malformed(damage: Any) -> None:
    data = payload("github", "push.4")
    damage(data)
    with pytest.raises(MalformedPayload):
        github(data, "push", scanned_before=always_scanned)


# --- found by mutation testing (docs/mutation.md) -------------------------------------------


def test_an_unknown_forge_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown forge 'bitbucket'$"):
        interpret("bitbucket", {}, {}, scanned_before=never_scanned)


def test_gitlab_delivery_id_falls_back_to_the_idempotency_key() -> None:
    assert events.gitlab_delivery_id({"Idempotency-Key": "k-1"}) == "k-1"
    assert (
        events.gitlab_delivery_id({"X-Gitlab-Event-UUID": "u-1", "Idempotency-Key": "k"}) == "u-1"
    )
    assert events.gitlab_delivery_id({"X-Gitlab-Event-UUID": ""}) is None


def test_a_delivery_without_an_event_header_says_so() -> None:
    assert interpret(events.GITHUB, {}, {}, scanned_before=never_scanned) == Ignored(
        f"{events.UNHANDLED_EVENT}: no X-GitHub-Event header"
    )
    assert interpret(events.GITLAB, {}, {}, scanned_before=never_scanned) == Ignored(
        f"{events.UNHANDLED_EVENT}: no X-Gitlab-Event header"
    )


def _malformed(decide: Any) -> str:
    with pytest.raises(MalformedPayload) as caught:
        decide()
    return str(caught.value)


def test_malformed_payloads_name_the_field() -> None:
    installation = payload("github", "installation.1")
    del installation["installation"]
    assert _malformed(lambda: github(installation, "installation")) == "installation.id missing"
    installation = payload("github", "installation.1")
    installation["installation"]["id"] = True
    assert (
        _malformed(lambda: github(installation, "installation"))
        == "installation.id is not an integer"
    )
    installation = payload("github", "installation.1")
    installation["repositories"] = ["not an object"]
    assert (
        _malformed(lambda: github(installation, "installation"))
        == "repositories is missing or not an object"
    )
    installation["repositories"] = "many"
    assert _malformed(lambda: github(installation, "installation")) == "repositories is not a list"
    push = payload("gitlab", "push")
    push["commits"], push["total_commits_count"] = ["not an object"], 1
    assert (
        _malformed(lambda: gitlab(push, "Push Hook", scanned_before=always_scanned))
        == "commits holds a non-object"
    )
    push["commits"] = [{"added": "deploy/web.yaml"}]
    assert (
        _malformed(lambda: gitlab(push, "Push Hook", scanned_before=always_scanned))
        == "commit added is not a list"
    )
    push = payload("gitlab", "push")
    push["project"] = "acme"
    assert _malformed(lambda: gitlab(push, "Push Hook")) == "project is missing or not an object"
    push = payload("gitlab", "push")
    push["after"] = ""
    assert _malformed(lambda: gitlab(push, "Push Hook")) == "after is missing or not a string"


def test_gitlab_push_scans_the_checkout_sha_when_given() -> None:
    data = payload("gitlab", "push")
    data["checkout_sha"] = "c" * 40
    [scan] = gitlab(data, "Push Hook")  # type: ignore[misc]
    assert scan.head_sha == "c" * 40
    data["checkout_sha"] = ""
    [scan] = gitlab(data, "Push Hook")  # type: ignore[misc]
    assert scan.head_sha == data["after"]


def test_gitlab_one_complete_irrelevant_commit_is_ignored_for_that_project_only() -> None:
    data = payload("gitlab", "push")
    data["commits"] = [commit("README.md")]
    data["total_commits_count"] = 1
    asked: list[str] = []

    def scanned(key: str) -> bool:
        asked.append(key)
        return key == "gitlab:" + str(data["project"]["path_with_namespace"])

    assert gitlab(data, "Push Hook", scanned_before=scanned) == Ignored(events.NOTHING_RELEVANT)
    assert asked == ["gitlab:" + data["project"]["path_with_namespace"]]
    data["commits"], data["total_commits_count"] = [], 0  # nothing listed: scan to be sure
    assert isinstance(gitlab(data, "Push Hook", scanned_before=always_scanned), list)


@pytest.mark.parametrize("name", ["push", "tag_push", "merge_request"])
def test_a_system_hook_is_read_like_the_project_hook_it_carries(name: str) -> None:
    data = payload("gitlab", name)  # system hooks send the project hook's shape
    assert gitlab(data, "System Hook") == EXPECTED_GITLAB[name]


def test_a_system_hook_push_without_object_kind_is_named_by_event_name() -> None:
    data = payload("gitlab", "push")
    del data["object_kind"]
    assert gitlab(data, "System Hook") == EXPECTED_GITLAB["push"]


def test_other_system_hook_events_are_ignored_with_their_name() -> None:
    created = {"event_name": "project_create", "path_with_namespace": "acme/new"}
    assert gitlab(created, "System Hook") == Ignored(
        f"{events.UNHANDLED_EVENT}: System Hook project_create"
    )


# --- reviews: found by mutation testing (docs/mutation.md) -----------------------------------


def test_a_pull_request_closed_before_its_delivery_is_not_reviewed() -> None:
    data = payload("github", "pull_request.0")
    data["action"] = "synchronize"  # a late delivery: the PR was closed since
    data["pull_request"]["state"] = "closed"
    assert github(data, "pull_request") == Ignored(events.PR_NOT_OPEN)


def test_the_pull_requests_own_number_wins_over_the_payloads() -> None:
    data = payload("github", "pull_request.0")
    data["number"] = 99
    (review,) = github(data, "pull_request")  # type: ignore[misc]
    assert review.pr_number == 2
    del data["pull_request"]["number"]  # older deliveries carry it at the top level only
    (review,) = github(data, "pull_request")  # type: ignore[misc]
    assert review.pr_number == 99


@pytest.mark.parametrize("number", ["2", True, None])
def test_a_pull_request_number_that_is_not_an_integer_is_malformed(number: object) -> None:
    data = payload("github", "pull_request.0")
    data["pull_request"]["number"] = number
    data["number"] = number
    message = _malformed(lambda: github(data, "pull_request"))
    assert message == "pull_request.number is not an integer"


def test_a_merge_request_closed_before_its_delivery_is_not_reviewed() -> None:
    data = payload("gitlab", "merge_request")
    data["object_attributes"].update(action="reopen", state="closed")
    assert gitlab(data, "Merge Request Hook") == Ignored(events.PR_NOT_OPEN)


@pytest.mark.parametrize("iid", ["1", True, None])
def test_a_merge_request_iid_that_is_not_an_integer_is_malformed(iid: object) -> None:
    data = payload("gitlab", "merge_request")
    data["object_attributes"]["iid"] = iid
    message = _malformed(lambda: gitlab(data, "Merge Request Hook"))
    assert message == "object_attributes.iid is not an integer"


@pytest.mark.parametrize("field", ["draft", "work_in_progress"])
def test_a_draft_merge_request_is_marked_by_either_field(field: str) -> None:
    data = payload("gitlab", "merge_request")
    data["object_attributes"][field] = True  # work_in_progress: the older name
    (review,) = gitlab(data, "Merge Request Hook")  # type: ignore[misc]
    assert review.draft
    data["object_attributes"][field] = "yes"  # only a real true marks a draft
    (review,) = gitlab(data, "Merge Request Hook")  # type: ignore[misc]
    assert not review.draft


# --- helpers the receiver calls: found unreached by mutation testing (docs/mutation.md) -----


def test_github_delivery_id_is_read_from_its_header() -> None:
    assert events.github_delivery_id({"X-GitHub-Delivery": "d-1"}) == "d-1"
    assert events.github_delivery_id({"X-GitHub-Event": "push"}) is None


def _closed_pull(
    *, merged: bool = False, author: object = "alice", closer: object = "bob"
) -> dict[str, Any]:
    return {
        "action": "closed",
        "pull_request": {"merged": merged, "user": {"login": author}},
        "sender": {"login": closer},
    }


def _closed_merge_request(
    *, action: str = "close", author: object = 1, closer: object = 2
) -> dict[str, Any]:
    return {"object_attributes": {"action": action, "author_id": author}, "user": {"id": closer}}


def test_a_pull_request_closed_unmerged_by_someone_else_is_declined() -> None:
    assert events.declined_by_a_person(events.GITHUB, _closed_pull())
    assert events.declined_by_a_person(events.GITLAB, _closed_merge_request())


def test_a_pull_request_the_bot_closes_itself_or_that_is_merged_is_not_declined() -> None:
    assert not events.declined_by_a_person(events.GITHUB, _closed_pull(closer="alice"))
    assert not events.declined_by_a_person(events.GITHUB, _closed_pull(merged=True))
    assert not events.declined_by_a_person(events.GITLAB, _closed_merge_request(closer=1))
    assert not events.declined_by_a_person(events.GITLAB, _closed_merge_request(action="merge"))


@pytest.mark.parametrize(("author", "closer"), [(None, "bob"), ("alice", None)])
def test_a_closed_pull_request_without_its_people_is_not_declined(
    author: object, closer: object
) -> None:
    pull = _closed_pull(author=author, closer=closer)
    assert not events.declined_by_a_person(events.GITHUB, pull)
    merge_request = _closed_merge_request(author=author, closer=closer)
    assert not events.declined_by_a_person(events.GITLAB, merge_request)


def test_a_payload_without_the_pull_request_or_its_people_objects_is_not_declined() -> None:
    assert not events.declined_by_a_person(events.GITHUB, {"pull_request": None})
    assert not events.declined_by_a_person(events.GITHUB, {**_closed_pull(), "sender": "bob"})
    assert not events.declined_by_a_person(events.GITLAB, {"object_attributes": "close"})
    assert not events.declined_by_a_person(events.GITLAB, {**_closed_merge_request(), "user": 2})


def test_a_system_hook_push_to_a_scanned_project_that_touched_nothing_scanned_is_ignored() -> None:
    data = payload("gitlab", "push")
    data["total_commits_count"] = len(data["commits"])  # complete: CHANGELOG and .rb only
    assert gitlab(data, "System Hook", scanned_before=always_scanned) == Ignored(
        events.NOTHING_RELEVANT
    )
