"""The PR lifecycle (DESIGN.md's state machine), on both forges, against the local fake forge."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.fakeforge.records import ChangeRequestRecord
from tests.forge_subjects import REPO, Subject
from workers.config.model import DEFAULT_BRANCH
from workers.core.explain import parse_marker
from workers.forge.base import ChangeRequestDraft, Transient
from workers.jobs import ScanJob
from workers.runtime.logs import WORKER_LOGGER_NAME
from workers.scan import pr
from workers.scan import run as scan
from workers.scan.pr import BOT_TRAILER, CLOSE_COMMENT

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2  # pinned
          ports: [{containerPort: 8080}]
"""
FIXED_DEPLOYMENT = DEPLOYMENT.replace("# pinned\n", "# pinned\n          imagePullPolicy: Always\n")
JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      containers: [{name: migrate, image: "tools:3", imagePullPolicy: IfNotPresent}]
"""
README = "# deploys\n"


def run(subject: Subject, head: str | None = None, **options: object) -> scan.ScanOutcome:
    """A scan as a push job runs it; `head` is the head the push named."""
    job = ScanJob(
        forge=subject.kind,
        repo=REPO,
        reason="push",
        head_sha=head,
        installation_id=subject.ref().installation_id,
    )
    return scan.run(subject.forge, job, **options)  # type: ignore[arg-type]


def open_requests(subject: Subject) -> list[ChangeRequestRecord]:
    return [r for r in subject.fake.change_requests(REPO) if r.state == "open"]


def test_findings_open_one_pr_with_the_fix(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT, "README.md": README})
    outcome = run(subject)
    assert (outcome.action, outcome.findings) == ("opened", 1)
    (request,) = subject.fake.change_requests(REPO)
    assert request.state == "open" and request.source_branch == DEFAULT_BRANCH
    assert request.target_branch == "main"
    assert "Deployment" in request.body and "`registry.example.com/web:1.2`" in request.body
    marker = parse_marker(request.body)
    assert marker is not None and len(marker[1]) == 1
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    assert head is not None
    assert subject.fake.read(REPO, head, "k8s/web.yaml") == FIXED_DEPLOYMENT.encode()
    assert subject.fake.read(REPO, head, "README.md") == README.encode()
    assert subject.fake.commit_parents(REPO, head) == [subject.fake.branch_head(REPO, "main")]
    assert BOT_TRAILER in subject.fake.commit_message(REPO, head)


def test_a_second_scan_of_the_same_state_writes_nothing(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    run(subject)
    branch_head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    subject.fake.reset_requests()
    outcome = run(subject)
    assert outcome.action == "unchanged"
    # Batched reads are GraphQL queries, sent as POSTs: the only POSTs allowed
    reads = ("/api/graphql", "/gitlab/api/graphql")
    writes = [(m, p) for m, p in subject.fake.requests if m != "GET" and p not in reads]
    assert writes == [], subject.fake.requests
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == branch_head
    assert len(subject.fake.change_requests(REPO)) == 1


def test_a_new_manifest_updates_the_same_pr(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    first = run(subject)
    main_head = subject.fake.push_commit(REPO, "main", {"k8s/job.yaml": JOB}, "add a job")
    second = run(subject)
    assert (second.action, second.pr_number, second.findings) == ("updated", first.pr_number, 2)
    (request,) = subject.fake.change_requests(REPO)
    marker = parse_marker(request.body)
    assert marker is not None and len(marker[1]) == 2
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    assert head is not None
    assert subject.fake.commit_parents(REPO, head) == [main_head]  # rebuilt on the new head
    assert b"imagePullPolicy: Always}" in (subject.fake.read(REPO, head, "k8s/job.yaml") or b"")


def test_human_commit_on_the_branch_stops_the_bot_with_one_comment(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    first = run(subject)
    human = subject.fake.push_commit(REPO, DEFAULT_BRANCH, {"NOTES.md": "mine\n"}, "my tweak")
    subject.fake.push_commit(REPO, "main", {"k8s/job.yaml": JOB}, "add a job")
    noted: set[int] = set()
    outcome = run(subject, hands_off_noted=lambda n: n in noted)
    assert (outcome.action, outcome.pr_number) == ("hands-off", first.pr_number)
    assert outcome.pr_number is not None
    noted.add(outcome.pr_number)
    again = run(subject, hands_off_noted=lambda n: n in noted)
    assert again.action == "hands-off"
    (request,) = subject.fake.change_requests(REPO)
    assert len(request.comments) == 1 and "no longer rewrite" in request.comments[0]
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == human  # branch left alone


def test_fixed_by_hand_closes_the_pr_and_deletes_the_branch(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    run(subject)
    subject.fake.push_commit(REPO, "main", {"k8s/web.yaml": FIXED_DEPLOYMENT}, "fix by hand")
    outcome = run(subject)
    assert outcome.action == "closed"
    (request,) = subject.fake.change_requests(REPO)
    assert request.state == "closed" and not request.merged
    assert request.comments == [CLOSE_COMMENT]
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) is None
    assert run(subject).action == "none"


def test_declined_fixes_are_never_proposed_again(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    first = run(subject)
    assert first.pr_number is not None
    subject.fake.close(REPO, first.pr_number)
    subject.fake.push_commit(REPO, "main", {"README.md": "unrelated\n"}, "docs")
    assert run(subject).action == "none"
    assert open_requests(subject) == []
    subject.fake.push_commit(REPO, "main", {"k8s/job.yaml": JOB}, "add a job")
    outcome = run(subject)
    assert outcome.action == "opened" and outcome.pr_number != first.pr_number
    (request,) = open_requests(subject)
    marker = parse_marker(request.body)
    assert marker is not None and len(marker[1]) == 1  # only the new finding
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    assert head is not None
    assert subject.fake.read(REPO, head, "k8s/web.yaml") == DEPLOYMENT.encode()  # declined


def test_merged_pr_then_clean_repository(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    first = run(subject)
    assert first.pr_number is not None
    subject.fake.merge(REPO, first.pr_number)
    assert run(subject).action == "none"
    assert subject.fake.read(REPO, "main", "k8s/web.yaml") == FIXED_DEPLOYMENT.encode()


def test_invalid_config_reports_and_changes_nothing(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT, ".pullpolicy.yml": "rules:\n  nevr: keep\n"})
    outcome = run(subject)
    assert outcome.action == "invalid-config"
    assert subject.fake.change_requests(REPO) == []
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) is None
    reports = (
        subject.fake.check_runs(REPO) if subject.kind == "github" else subject.fake.statuses(REPO)
    )
    assert len(reports) == 1
    text = str(reports[0])
    assert "nevr" in text
    if subject.kind == "github":
        (annotation,) = reports[0]["annotations"]
        assert annotation["start_line"] == 2 and annotation["path"] == ".pullpolicy.yml"


def test_check_mode_reports_without_a_pr(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT, ".pullpolicy.yml": "mode: check\n"})
    outcome = run(subject)
    assert (outcome.action, outcome.findings) == ("checked", 1)
    assert subject.fake.change_requests(REPO) == []
    reports = (
        subject.fake.check_runs(REPO) if subject.kind == "github" else subject.fake.statuses(REPO)
    )
    assert len(reports) == 1
    if subject.kind == "github":
        (annotation,) = reports[0]["annotations"]
        assert (annotation["path"], annotation["start_line"]) == ("k8s/web.yaml", 10)


def test_disabled_and_dry_run_write_nothing(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    subject.fake.reset_requests()
    outcome = run(subject, dry_run=True)
    assert outcome.action == "dry-run: would change k8s/web.yaml"
    assert {method for method, _ in subject.fake.requests} <= {"GET", "POST"}  # POST: token mint
    assert subject.fake.change_requests(REPO) == []
    subject.fake.push_commit(REPO, "main", {".pullpolicy.yml": "enabled: false\n"}, "off")
    assert run(subject).action == "disabled"
    assert subject.fake.change_requests(REPO) == []


def test_scan_cost_on_a_clean_repository(subject: Subject) -> None:
    files = {f"docs/page{i}.md": "text\n" for i in range(50)}
    files["k8s/web.yaml"] = FIXED_DEPLOYMENT
    subject.seed(files)
    subject.forge.api_calls = 0
    outcome = run(subject)
    assert outcome.action == "none"
    # default branch + tree listing + one manifest read + the change-request lookup
    # (+ one token mint on GitHub); nothing per non-manifest file.
    assert outcome.api_calls <= 6


def test_unchanged_blobs_are_not_fetched_again(subject: Subject) -> None:
    from workers.scan.report_cache import ReportCache

    subject.seed({"k8s/web.yaml": DEPLOYMENT, "k8s/job.yaml": JOB})
    cache = ReportCache()
    first = run(subject, cache=cache)
    assert first.action == "opened" and len(cache) == 2

    def file_reads() -> int:
        rest = sum("/git/blobs/" in path or "/raw" in path for _, path in subject.fake.requests)
        return rest + len(subject.fake.graphql_reads)

    subject.fake.push_commit(
        REPO, "main", {"k8s/job.yaml": JOB.replace("tools:3", "tools:4")}, "bump"
    )
    subject.fake.reset_requests()
    second = run(subject, cache=cache)
    assert second.action == "updated" and second.findings == 2
    assert file_reads() == 1  # only the changed job; web.yaml came from the cache
    (request,) = subject.fake.change_requests(REPO)
    assert "tools:4" in request.body and "registry.example.com/web:1.2" in request.body


def test_closing_keeps_a_branch_that_has_someone_elses_commits(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    run(subject)
    human = subject.fake.push_commit(REPO, DEFAULT_BRANCH, {"NOTES.md": "mine\n"}, "my notes")
    subject.fake.push_commit(REPO, "main", {"k8s/web.yaml": FIXED_DEPLOYMENT}, "fix by hand")
    assert run(subject).action == "closed"
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == human  # their work is not deleted


def test_a_huge_fix_is_split_into_reviewable_prs_in_path_order(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pr, "MAX_FIXES_PER_PR", 2)
    files = {f"k8s/{name}.yaml": JOB.replace("name: migrate", f"name: {name}") for name in "abcde"}
    subject.seed(files)
    first = run(subject)
    assert (first.action, first.findings) == ("opened", 5)
    (request,) = open_requests(subject)
    marker = parse_marker(request.body)
    assert marker is not None and len(marker[1]) == 2
    assert "**3 more containers** also lack `Always`" in request.body
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    assert head is not None
    changed = [p for p in files if subject.fake.read(REPO, head, p) != files[p].encode()]
    assert changed == ["k8s/a.yaml", "k8s/b.yaml"]
    assert run(subject).action == "unchanged"  # the same batch at every scan
    subject.fake.merge(REPO, request.number)
    assert run(subject).action == "opened"
    (second,) = open_requests(subject)
    assert "**1 more container** also lacks `Always`" in second.body
    assert "k8s/c.yaml" in second.body and "k8s/a.yaml" not in second.body


def test_a_file_with_more_fixes_than_a_pr_carries_is_skipped_with_the_reason(
    subject: Subject, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pr, "MAX_FIXES_PER_PR", 1)
    subject.seed({"k8s/both.yaml": f"{JOB}---\n{JOB.replace('name: migrate', 'name: other')}"})
    with caplog.at_level(logging.WARNING, logger=WORKER_LOGGER_NAME):
        outcome = run(subject)
    assert outcome.action == "none" and outcome.findings == 2
    assert open_requests(subject) == []
    # No PR body to carry the reason: the log and the commit's check run / status say it.
    reason = "k8s/both.yaml: not fixed: 2 containers to fix: more than one pull request can carry"
    assert outcome.detail == reason  # the worker records it: /status shows it
    logged = [
        getattr(r, "reason", None) for r in caplog.records if r.getMessage() == "file not fixed"
    ]
    assert logged == [reason]
    title = "1 file(s) not fixed: more fixes than one pull request can carry"
    if subject.kind == "github":
        [check] = subject.fake.check_runs(REPO)
        assert check["conclusion"] == "neutral"
        assert check["output"]["title"] == title
        assert check["output"]["summary"] == reason
    else:
        [status] = subject.fake.statuses(REPO)
        assert title in status["description"]


def test_an_open_pr_is_not_closed_as_all_fixed_when_its_file_became_too_big(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject.seed({"k8s/both.yaml": f"{JOB}---\n{JOB.replace('name: migrate', 'name: other')}"})
    assert run(subject).action == "opened"
    monkeypatch.setattr(pr, "MAX_FIXES_PER_PR", 1)  # the same file is now over the cap
    assert run(subject).action == "unchanged"
    (request,) = open_requests(subject)
    assert request.state == "open"


def reports_of(subject: Subject) -> list[dict[str, object]]:
    return (
        subject.fake.check_runs(REPO) if subject.kind == "github" else subject.fake.statuses(REPO)
    )


def test_an_existing_branch_with_someones_commits_is_left_alone_and_reported(
    subject: Subject,
) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    theirs = subject.fake.push_commit(REPO, DEFAULT_BRANCH, {"NOTES.md": "mine\n"}, "my work")
    outcome = run(subject)
    assert outcome.action == "branch-blocked" and outcome.findings == 1
    assert "1 commit(s) that are not pullpolicy's" in outcome.detail
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == theirs
    assert subject.fake.read(REPO, theirs, "NOTES.md") == b"mine\n"
    assert subject.fake.change_requests(REPO) == []
    (report,) = reports_of(subject)
    assert DEFAULT_BRANCH in str(report) and "not pullpolicy's" in str(report)
    assert run(subject).action == "branch-blocked"  # and so at every scan, never a reset


def test_a_configured_branch_with_someones_work_is_a_config_error(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT, ".pullpolicy.yml": "pull_request:\n  branch: dev\n"})
    theirs = subject.fake.push_commit(REPO, "dev", {"app.py": "print()\n"}, "feature work")
    person = subject.forge.create_change_request(
        subject.ref(), ChangeRequestDraft("My feature", "please review", "dev", "main")
    )
    outcome = run(subject)
    assert outcome.action == "invalid-config"
    assert subject.fake.branch_head(REPO, "dev") == theirs
    (request,) = subject.fake.change_requests(REPO)
    assert (request.number, request.body, request.comments) == (person.number, "please review", [])
    (report,) = reports_of(subject)
    assert "pull_request.branch" in str(report) and "`dev`" in str(report)


def test_the_default_branch_as_pr_branch_is_a_config_error(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT, ".pullpolicy.yml": "pull_request:\n  branch: main\n"})
    head = subject.fake.branch_head(REPO, "main")
    outcome = run(subject)
    assert outcome.action == "invalid-config"
    assert "`main` is the default branch" in outcome.detail
    assert subject.fake.branch_head(REPO, "main") == head
    (report,) = reports_of(subject)
    assert "pull_request.branch" in str(report)


def test_a_protected_configured_branch_is_a_config_error(subject: Subject) -> None:
    config = "pull_request:\n  branch: release\n"
    subject.seed({"k8s/web.yaml": DEPLOYMENT, ".pullpolicy.yml": config})
    release = subject.fake.push_commit(REPO, "release", {}, "cut", author=("Bot", "x@example.com"))
    subject.fake.protect_branch(REPO, "release")
    outcome = run(subject)
    assert outcome.action == "invalid-config" and "protected" in outcome.detail
    assert subject.fake.branch_head(REPO, "release") == release
    assert subject.fake.change_requests(REPO) == []


def test_our_stale_branch_without_a_pr_is_reused(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    first = run(subject)
    assert first.pr_number is not None
    subject.fake.close(REPO, first.pr_number)  # declined; the branch stays, holding only ours
    subject.fake.push_commit(REPO, "main", {"k8s/job.yaml": JOB}, "add a job")
    assert run(subject).action == "opened"
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH)
    assert head is not None and BOT_TRAILER in subject.fake.commit_message(REPO, head)


@contextmanager
def someone_pushes_after(subject: Subject, method: str) -> Iterator[list[str]]:
    """Each time the adapter's `method` returns, a person pushes to the bot's branch; the
    heads they pushed."""
    original = getattr(subject.forge, method)
    pushed: list[str] = []

    def then_someone_pushes(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)
        pushed.append(subject.fake.push_commit(REPO, DEFAULT_BRANCH, {"NOTES.md": "x\n"}, "mine"))
        return result

    setattr(subject.forge, method, then_someone_pushes)
    try:
        yield pushed
    finally:
        delattr(subject.forge, method)


def test_a_push_after_the_branch_was_read_with_the_head_is_never_overwritten(
    subject: Subject,
) -> None:
    """A push naming a new head: GitHub reads the bot's branch in its first query, long before
    the write; someone's commit on the branch meanwhile is still never overwritten."""
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    run(subject)
    pushed_main = subject.fake.push_commit(REPO, "main", {"k8s/job.yaml": JOB}, "add a job")
    with someone_pushes_after(subject, "list_files") as pushed:
        try:  # GitHub: the write is refused, and the task retries; GitLab reads the branch later
            first = run(subject, head=pushed_main).action
        except Transient:
            first = "retried"
    assert first == ("retried" if subject.kind == "github" else "hands-off")
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == pushed[0]
    assert run(subject, head=pushed_main).action == "hands-off"
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == pushed[0]


def test_a_push_between_the_check_and_the_write_is_never_overwritten(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    run(subject)
    subject.fake.push_commit(REPO, "main", {"k8s/job.yaml": JOB}, "add a job")
    # Retried by the task: the next attempt decides afresh.
    with someone_pushes_after(subject, "branch_state") as pushed, pytest.raises(Transient):
        run(subject)
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == pushed[0]
    assert run(subject).action == "hands-off"
    assert subject.fake.branch_head(REPO, DEFAULT_BRANCH) == pushed[0]


def test_a_persons_pr_from_the_bots_branch_is_never_taken_over(subject: Subject) -> None:
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    first = run(subject)
    assert first.pr_number is not None
    subject.fake.close(REPO, first.pr_number)  # declined; the branch holds only the bot's commit
    theirs = subject.forge.create_change_request(
        subject.ref(), ChangeRequestDraft("My take", "my own words", DEFAULT_BRANCH, "main")
    )
    subject.fake.push_commit(REPO, "main", {"k8s/job.yaml": JOB}, "add a job")
    outcome = run(subject)  # opening ours conflicts with theirs, from the same branch
    assert outcome.action == "branch-blocked" and outcome.pr_number == theirs.number
    assert "not pullpolicy's" in outcome.detail
    (request,) = open_requests(subject)
    assert (request.number, request.title, request.body) == (
        theirs.number,
        "My take",
        "my own words",
    )


@pytest.mark.parametrize("subject", ["github"], indirect=True)  # GitLab's tree has no sizes
def test_a_file_the_tree_lists_above_the_cap_is_never_downloaded(subject: Subject) -> None:
    from workers.core.tree import MAX_FILE_BYTES

    huge = "# " + "x" * MAX_FILE_BYTES + "\n"
    subject.seed({"k8s/web.yaml": DEPLOYMENT, "k8s/huge.yaml": huge})
    subject.fake.reset_requests()
    outcome = run(subject)
    assert outcome.action == "opened"
    assert [read.split(":", 1)[1] for read in subject.fake.graphql_reads] == ["k8s/web.yaml"]
    assert not [path for _, path in subject.fake.requests if "/git/blobs/" in path]


def test_a_worker_that_opened_ours_meanwhile_is_adopted(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker opened the fix between this scan's lookup (which saw nothing) and its
    write: the branch is not created over (it exists), it is read, found to be the bot's own,
    rebuilt, and the open request is adopted: still one request, with our body."""
    subject.seed({"k8s/web.yaml": DEPLOYMENT})
    other = subject.make()
    other_job = ScanJob(subject.kind, REPO, "push", installation_id=subject.ref().installation_id)
    first = scan.run(other, other_job)
    assert first.action == "opened"
    monkeypatch.setattr(subject.forge, "find_change_requests", _stale_once(subject.forge))
    outcome = run(subject)
    assert (outcome.action, outcome.pr_number) == ("opened", first.pr_number)
    [request] = open_requests(subject)
    assert parse_marker(request.body) is not None
    head = subject.fake.branch_head(REPO, DEFAULT_BRANCH) or ""
    assert subject.fake.files(REPO, head)["k8s/web.yaml"] == FIXED_DEPLOYMENT.encode()


def _stale_once(forge: object) -> object:
    """`find_change_requests` that answers nothing the first time: a lookup made just before
    another worker opened the request."""
    real = forge.find_change_requests  # type: ignore[attr-defined]
    calls = []

    def lookup(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return [] if len(calls) == 1 else real(*args, **kwargs)

    return lookup
