"""The Forge contract, run against both adapters talking to the local fake forge."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge import github_git
from workers.forge.base import (
    Annotation,
    BranchExists,
    BranchInfo,
    ChangeRequestDraft,
    ChangeRequestState,
    CheckConclusion,
    CheckReport,
    Conflict,
    FileChange,
    Forge,
    NotFound,
    RateLimited,
    Transient,
)

BOT_BRANCH = "pullpolicy/image-pull-policy"
DEPLOYMENT = "kind: Deployment\nspec:\n  imagePullPolicy: IfNotPresent\n"
FIXED = b"kind: Deployment\nspec:\n  imagePullPolicy: Always\n"
FILES: dict[str, bytes | str] = {
    "README.md": "# deploys\n",
    "k8s/app/deployment.yaml": DEPLOYMENT,
    "k8s/app/service.yaml": "kind: Service\n",
    "k8s/db/statefulset.yaml": DEPLOYMENT,
    "charts/web/values.yaml": "image: web\n",
    "bin/logo.png": b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary",
}
OPEN, CLOSED, MERGED = ChangeRequestState.OPEN, ChangeRequestState.CLOSED, ChangeRequestState.MERGED
ALL_STATES = (OPEN, CLOSED, MERGED)


def as_bytes(content: bytes | str) -> bytes:
    return content.encode() if isinstance(content, str) else content


def draft(branch: str = BOT_BRANCH, **overrides: object) -> ChangeRequestDraft:
    fields: dict[str, object] = {
        "title": "Set imagePullPolicy: Always",
        "body": "Two containers fixed.\n<!-- pullpolicy: v1 -->",
        "source_branch": branch,
        "target_branch": "main",
        **overrides,
    }
    return ChangeRequestDraft(**fields)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def calls_match_the_fake(subject: Subject) -> object:
    """Whatever a test does, the adapter counts exactly the requests the fake served."""
    yield
    assert subject.api_calls() == len(subject.fake.requests)


def test_adapters_satisfy_the_protocol(subject: Subject) -> None:
    forge: Forge = subject.forge
    assert forge.name == subject.kind


def test_default_branch_and_head(subject: Subject) -> None:
    repo = subject.seed(FILES)
    assert subject.forge.default_branch(repo) == ("main", subject.fake.branch_head(REPO, "main"))


def test_list_files_returns_every_blob_with_its_sha(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    entries = subject.forge.list_files(repo, head)
    assert sorted(e.path for e in entries) == sorted(FILES)
    assert all(e.mode == "100644" and len(e.sha) == 40 for e in entries)
    assert len({e.sha for e in entries}) == len(FILES) - 1  # two identical deployments


def test_read_file_returns_exact_bytes_with_or_without_a_listing(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    fresh = subject.make()
    assert fresh.read_file(repo, "bin/logo.png", head) == FILES["bin/logo.png"]
    subject.forge.list_files(repo, head)
    for path, content in FILES.items():
        assert subject.forge.read_file(repo, path, head) == as_bytes(content)
    subject.reset_counts()
    with pytest.raises(NotFound):
        subject.forge.read_file(repo, "k8s/missing.yaml", head)
    assert subject.api_calls() == 0  # the listing already says there is no such file
    with pytest.raises(NotFound):
        fresh.read_file(repo, "k8s/missing.yaml", head)


def test_branch_head_of_a_missing_branch_is_none(subject: Subject) -> None:
    repo = subject.seed(FILES)
    assert subject.forge.branch_head(repo, "nope") is None


def test_commit_creates_the_bot_branch_with_base_plus_exactly_the_changes(
    subject: Subject,
) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    changes = [
        FileChange("k8s/app/deployment.yaml", FIXED),
        FileChange("k8s/new/job.yaml", b"kind: Job\n"),
        FileChange("k8s/app/service.yaml", None),
    ]
    sha = subject.forge.commit_files(
        repo, BOT_BRANCH, head, changes, "Set imagePullPolicy", expected_head=None
    )
    expected = {path: as_bytes(content) for path, content in FILES.items()}
    expected["k8s/app/deployment.yaml"] = FIXED
    expected["k8s/new/job.yaml"] = b"kind: Job\n"
    del expected["k8s/app/service.yaml"]
    assert subject.fake.branch_head(REPO, BOT_BRANCH) == sha
    assert subject.fake.files(REPO, sha) == expected
    assert subject.fake.commit_parents(REPO, sha) == [head]
    assert subject.fake.branch_head(REPO, "main") == head
    assert subject.forge.branch_head(repo, BOT_BRANCH) == sha


def test_committed_contents_are_byte_exact_however_they_travel(
    subject: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GitHub: text rides inside the tree request up to a budget; bytes that are not UTF-8 and
    # text beyond the budget are uploaded as blobs. Every path must land byte for byte.
    monkeypatch.setattr(github_git, "INLINE_TREE_BYTES", 64)
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    contents = {
        "crlf-bom.yaml": "\ufeffkind: Pod\r\nmetadata: {name: é}\r\n".encode(),
        "latin-1.yaml": "name: caf\xe9\n".encode("latin-1"),
        "large.yaml": b"# " + b"x" * 200 + b"\n",
    }
    changes = [FileChange(path, data) for path, data in contents.items()]
    sha = subject.forge.commit_files(repo, BOT_BRANCH, head, changes, "m", expected_head=None)
    files = subject.fake.files(REPO, sha)
    assert {path: files[path] for path in contents} == contents
    if subject.kind == "github":  # the UTF-8 text within budget went inside the tree
        uploads = [path for method, path in subject.fake.requests if path.endswith("/git/blobs")]
        assert len(uploads) == 2


def test_creating_an_existing_branch_is_a_conflict(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    human = subject.fake.push_commit(REPO, BOT_BRANCH, {"x.txt": "x"}, "human work")
    with pytest.raises(Conflict):
        subject.forge.commit_files(
            repo, BOT_BRANCH, head, [FileChange("a.yaml", b"a")], "m", expected_head=None
        )
    assert subject.fake.branch_head(REPO, BOT_BRANCH) == human


def test_forced_update_rebuilds_the_bot_branch_on_the_new_base(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    change = [FileChange("k8s/app/deployment.yaml", FIXED)]
    first = subject.forge.commit_files(repo, BOT_BRANCH, head, change, "fix", expected_head=None)
    new_main = subject.fake.push_commit(REPO, "main", {"docs.md": "docs"}, "human on main")
    _, head2 = subject.forge.default_branch(repo)
    assert head2 == new_main
    second = subject.forge.commit_files(
        repo, BOT_BRANCH, new_main, change, "fix again", expected_head=first
    )
    assert subject.fake.branch_head(REPO, BOT_BRANCH) == second
    assert subject.fake.commit_parents(REPO, second) == [new_main]
    assert subject.fake.branch_head(REPO, "main") == new_main
    assert subject.fake.read(REPO, "main", "k8s/app/deployment.yaml") == as_bytes(DEPLOYMENT)
    assert subject.fake.read(REPO, second, "docs.md") == b"docs"


def test_a_branch_that_moved_underneath_is_a_conflict(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    change = [FileChange("k8s/app/deployment.yaml", FIXED)]
    ours = subject.forge.commit_files(repo, BOT_BRANCH, head, change, "fix", expected_head=None)
    human = subject.fake.push_commit(REPO, BOT_BRANCH, {"note.txt": "mine"}, "human")
    with pytest.raises(Conflict):
        subject.forge.commit_files(repo, BOT_BRANCH, head, change, "again", expected_head=ours)
    assert subject.fake.branch_head(REPO, BOT_BRANCH) == human


def test_the_default_branch_is_never_written(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    with pytest.raises(ValueError, match="default branch"):
        subject.forge.commit_files(
            repo, "main", head, [FileChange("a", b"a")], "m", expected_head=head
        )
    with pytest.raises(ValueError, match="default branch"):
        subject.forge.delete_branch(repo, "main", expected_head=head)
    assert subject.fake.branch_head(REPO, "main") == head


def test_an_existing_branch_is_never_overwritten_by_a_create(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    theirs = subject.fake.push_commit(REPO, BOT_BRANCH, {"note.txt": "mine"}, "someone's work")
    change = [FileChange("k8s/app/deployment.yaml", FIXED)]
    with pytest.raises(Conflict):
        subject.forge.commit_files(repo, BOT_BRANCH, head, change, "fix", expected_head=None)
    assert subject.fake.branch_head(REPO, BOT_BRANCH) == theirs


def test_a_branch_that_gained_commits_is_never_deleted(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    change = [FileChange("k8s/app/deployment.yaml", FIXED)]
    ours = subject.forge.commit_files(repo, BOT_BRANCH, head, change, "fix", expected_head=None)
    human = subject.fake.push_commit(REPO, BOT_BRANCH, {"note.txt": "mine"}, "human")
    with pytest.raises(Conflict):
        subject.forge.delete_branch(repo, BOT_BRANCH, expected_head=ours)
    assert subject.fake.branch_head(REPO, BOT_BRANCH) == human
    assert subject.fake.read(REPO, human, "note.txt") == b"mine"


def test_branch_shows_head_and_protection(subject: Subject) -> None:
    repo = subject.seed(FILES)
    head = subject.fake.push_commit(REPO, "release/1", {"x": "x"}, "release")
    assert subject.forge.branch(repo, "nope") is None
    assert subject.forge.branch(repo, "release/1") == BranchInfo(head, protected=False)
    subject.fake.protect_branch(REPO, "release/1")
    assert subject.forge.branch(repo, "release/1") == BranchInfo(head, protected=True)


def test_branch_state_lists_commits_beyond_base_newest_first(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    change = [FileChange("k8s/app/deployment.yaml", FIXED)]
    ours = subject.forge.commit_files(repo, BOT_BRANCH, head, change, "bot fix", expected_head=None)
    human = subject.fake.push_commit(
        REPO, BOT_BRANCH, {"n.txt": "n"}, "human tweak", author=("Ann", "ann@example.com")
    )
    state = subject.forge.branch_state(repo, BOT_BRANCH, head)
    assert state is not None and state.since_base is not None
    assert (state.head, state.protected, state.complete) == (human, False, True)
    commits = state.since_base
    assert [c.sha for c in commits] == [human, ours]
    assert (commits[0].author_name, commits[0].author_email) == ("Ann", "ann@example.com")
    assert commits[0].message.strip() == "human tweak"
    assert commits[0].parents == (ours,)
    on_main = subject.forge.branch_state(repo, "main", head)
    assert on_main is not None and (on_main.head, on_main.since_base) == (head, ())
    assert subject.forge.branch_state(repo, "nope", head) is None


def test_branch_state_compares_the_branch_not_a_tag_of_its_name(subject: Subject) -> None:
    """A tag named like the bot's branch, at the default head, must not make a person's commit
    on the branch disappear from the comparison (it would then count as all the bot's)."""
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    theirs = subject.fake.push_commit(REPO, BOT_BRANCH, {"n.txt": "n"}, "someone's")
    subject.fake.tag(REPO, BOT_BRANCH, head)
    state = subject.forge.branch_state(repo, BOT_BRANCH, head)
    assert state is not None and state.since_base is not None
    assert (state.head, [c.sha for c in state.since_base]) == (theirs, [theirs])


def test_branch_state_shows_protection(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "someone's")
    subject.fake.protect_branch(REPO, BOT_BRANCH)
    state = subject.forge.branch_state(repo, BOT_BRANCH, head)
    assert state is not None and state.protected


def test_branch_state_without_common_history(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    orphan = subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "orphan", orphan=True)
    state = subject.forge.branch_state(repo, BOT_BRANCH, head)
    assert state is not None and state.head == orphan
    # GitHub: no comparison can be made; GitLab compares the two heads straight.
    listed = None if state.since_base is None else [c.sha for c in state.since_base]
    assert listed == (None if subject.kind == "github" else [orphan])


def test_delete_branch_is_idempotent(subject: Subject) -> None:
    repo = subject.seed(FILES)
    head = subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "x")
    subject.forge.delete_branch(repo, BOT_BRANCH, expected_head=head)
    assert subject.fake.branch_head(REPO, BOT_BRANCH) is None
    subject.forge.delete_branch(repo, BOT_BRANCH, expected_head=head)
    assert subject.fake.branch_head(REPO, "main") is not None


def open_change_request(subject: Subject, branch: str = BOT_BRANCH) -> int:
    """A new commit on `branch` (earlier ones may be merged already) and a change request."""
    count = len(subject.fake.change_requests(REPO))
    subject.fake.push_commit(REPO, branch, {f"work{count}.txt": branch}, f"work {count}")
    return subject.forge.create_change_request(subject.ref(), draft(branch)).number


def test_create_change_request_with_labels_reviewers_assignees(subject: Subject) -> None:
    repo = subject.seed(FILES)
    subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "work")
    created = subject.forge.create_change_request(
        repo,
        draft(labels=("pullpolicy", "k8s"), reviewers=("rev",), assignees=("ops",), draft=True),
    )
    assert created.state is OPEN
    assert created.title == "Set imagePullPolicy: Always"
    assert created.draft is True
    assert set(created.labels) == {"pullpolicy", "k8s"}
    assert (created.source_branch, created.target_branch) == (BOT_BRANCH, "main")
    assert created.head_sha == subject.fake.branch_head(REPO, BOT_BRANCH)
    assert created.url.startswith("http")
    [record] = subject.fake.change_requests(REPO)
    assert record.number == created.number
    assert record.body == draft().body
    assert record.draft is True
    assert set(record.labels) == {"pullpolicy", "k8s"}
    assert record.reviewers == ["rev"]
    assert record.assignees == ["ops"]


def test_a_second_open_change_request_for_the_branch_is_a_conflict(subject: Subject) -> None:
    subject.seed(FILES)
    open_change_request(subject)
    with pytest.raises(Conflict):
        subject.forge.create_change_request(subject.ref(), draft())


def test_change_requests_found_by_branch_in_each_state(subject: Subject) -> None:
    repo = subject.seed(FILES)
    merged = open_change_request(subject)
    subject.fake.merge(REPO, merged)
    closed = open_change_request(subject)
    subject.fake.close(REPO, closed)
    still_open = open_change_request(subject)
    open_change_request(subject, "someone/else")

    def numbers(*states: ChangeRequestState) -> list[int]:
        found = subject.forge.find_change_requests(repo, BOT_BRANCH, states)
        assert all(cr.source_branch == BOT_BRANCH for cr in found)
        return [cr.number for cr in found]

    assert numbers(OPEN) == [still_open]
    assert numbers(CLOSED) == [closed]
    assert numbers(MERGED) == [merged]
    assert numbers(CLOSED, MERGED) == [closed, merged]
    assert numbers(*ALL_STATES) == [still_open, closed, merged]
    states = {
        cr.number: cr.state
        for cr in subject.forge.find_change_requests(repo, BOT_BRANCH, ALL_STATES)
    }
    assert states == {still_open: OPEN, closed: CLOSED, merged: MERGED}
    assert subject.forge.find_change_requests(repo, "no/such-branch", ALL_STATES) == []


def test_pagination_with_a_small_page_size(subject: Subject) -> None:
    files = {f"k8s/d{i % 3}/f{i}.yaml": f"n: {i}\n" for i in range(23)}
    repo = subject.seed(files)
    subject.fake.page_size_cap = 2
    forge = subject.make(per_page=2)
    _, head = forge.default_branch(repo)
    assert sorted(e.path for e in forge.list_files(repo, head)) == sorted(files)
    numbers = []
    for _ in range(5):
        number = open_change_request(subject)
        subject.fake.close(REPO, number)
        numbers.append(number)
    found = forge.find_change_requests(repo, BOT_BRANCH, (CLOSED,))
    assert sorted(cr.number for cr in found) == sorted(numbers)


def test_update_change_request(subject: Subject) -> None:
    repo = subject.seed(FILES)
    subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "work")
    created = subject.forge.create_change_request(repo, draft(labels=("old",), draft=True))
    updated = subject.forge.update_change_request(
        repo, created.number, title="New title", body="New body", labels=["pullpolicy"]
    )
    assert (updated.title, updated.body, updated.labels) == (
        "New title",
        "New body",
        ("pullpolicy",),
    )
    assert updated.draft is True  # a new title keeps the draft state
    [record] = subject.fake.change_requests(REPO)
    assert (record.title.endswith("New title"), record.body, record.labels) == (
        True,
        "New body",
        ["pullpolicy"],
    )
    assert record.draft is True
    only_body = subject.forge.update_change_request(repo, created.number, body="Third")
    assert (only_body.title, only_body.body) == ("New title", "Third")


def test_close_with_a_comment_and_plain_comments(subject: Subject) -> None:
    repo = subject.seed(FILES)
    number = open_change_request(subject)
    subject.forge.comment(repo, number, "I left the branch alone: a human pushed to it.")
    subject.forge.close_change_request(repo, number, comment="Nothing left to fix.")
    [record] = subject.fake.change_requests(REPO)
    assert record.state == "closed" and not record.merged
    assert record.comments == [
        "I left the branch alone: a human pushed to it.",
        "Nothing left to fix.",
    ]
    [found] = subject.forge.find_change_requests(repo, BOT_BRANCH, (CLOSED,))
    assert found.number == number


def test_body_limit_belongs_to_the_forge(subject: Subject) -> None:
    repo = subject.seed(FILES)
    limit = subject.forge.body_limit
    assert limit == (65_536 if subject.kind == "github" else 1_000_000)
    subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "work")
    with pytest.raises(ValueError, match=subject.change_wording()):
        subject.forge.create_change_request(repo, draft(body="x" * (limit + 1)))
    created = subject.forge.create_change_request(repo, draft(body="y" * limit))
    assert len(subject.fake.change_requests(REPO)[0].body) == limit
    with pytest.raises(ValueError):
        subject.forge.comment(repo, created.number, "z" * (limit + 1))


def test_report_on_a_commit(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    annotations = [
        Annotation("k8s/app/deployment.yaml", line, f"finding {line}", title="imagePullPolicy")
        for line in range(1, 121)
    ]
    report = CheckReport(
        "pullpolicy", head, CheckConclusion.FAILURE, "120 containers", "summary", annotations
    )
    subject.reset_counts()
    subject.forge.report(repo, report)
    if subject.kind == "github":
        [run] = subject.fake.check_runs(REPO)
        assert (run["name"], run["head_sha"], run["conclusion"]) == ("pullpolicy", head, "failure")
        assert [a["start_line"] for a in run["output"]["annotations"]] == list(range(1, 121))
        writes = [m for m, p in subject.fake.requests if "check-runs" in p]
        assert writes == ["POST", "PATCH", "PATCH"]  # 50 + 50 + 20 annotations
    else:
        [status] = subject.fake.statuses(REPO)
        assert (status["name"], status["sha"], status["status"]) == ("pullpolicy", head, "failed")
        assert status["description"] == "120 containers"


@pytest.mark.parametrize("status", [429, 403])  # 403: GitHub's secondary limit
def test_rate_limit_with_retry_after(subject: Subject, status: int) -> None:
    repo = subject.seed(FILES)
    subject.forge.default_branch(repo)
    subject.fake.fail_next(1, status, retry_after=30)
    with pytest.raises(RateLimited) as raised:
        subject.forge.branch_head(repo, "main")
    assert raised.value.retry_at == subject.clock.now + timedelta(seconds=30)


def test_rate_limit_until_the_reset_time(subject: Subject) -> None:
    repo = subject.seed(FILES)
    subject.forge.default_branch(repo)
    reset = int((subject.clock.now + timedelta(minutes=17)).timestamp())
    status = 403 if subject.kind == "github" else 429
    subject.fake.fail_next(1, status, ratelimit_reset=reset)
    with pytest.raises(RateLimited) as raised:
        subject.forge.list_files(repo, subject.fake.branch_head(REPO, "main") or "")
    assert raised.value.retry_at == datetime.fromtimestamp(reset, tz=UTC)


def test_rate_limit_on_a_write_is_not_retried(subject: Subject) -> None:
    repo = subject.seed(FILES)
    number = open_change_request(subject)
    subject.fake.fail_next(1, 429, retry_after=5)
    with pytest.raises(RateLimited):
        subject.forge.comment(repo, number, "hello")
    assert subject.fake.change_requests(REPO)[0].comments == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(subject: Subject, status: int) -> None:
    repo = subject.seed(FILES)
    subject.forge.default_branch(repo)
    subject.fake.fail_next(1, status)
    with pytest.raises(Transient):
        subject.forge.branch_head(repo, "main")
    assert subject.forge.branch_head(repo, "main") is not None  # one failure, then recovery


def test_a_slow_answer_times_out_as_transient(subject: Subject) -> None:
    repo = subject.seed(FILES)
    forge = subject.make(timeout=1)
    forge.default_branch(repo)
    subject.fake.slow_next(1, 2.5)
    with pytest.raises(Transient):
        forge.branch_head(repo, "main")


def test_connection_refused_is_transient(subject: Subject) -> None:
    repo = subject.seed(FILES)
    subject.fake.stop()
    with pytest.raises(Transient):
        subject.forge.branch_head(repo, "main")
    assert subject.fake.requests == []
    subject.reset_counts()  # the attempt counts on our side; nothing reached the server


def test_a_fix_keeps_the_mode_of_an_executable_file(subject: Subject, tmp_path: Path) -> None:
    """Pushed like a human (git over smart HTTP), since seeding writes plain files only."""
    repo = subject.seed(FILES)
    clone = tmp_path / "clone"
    git = ["git", "-c", "user.name=Human", "-c", "user.email=human@example.com"]
    subprocess.run([*git, "clone", "-q", subject.fake.git_url(REPO), str(clone)], check=True)
    script = clone / "bin" / "deploy.sh"
    script.write_text("#!/bin/sh\nkubectl apply -f k8s\n")
    script.chmod(0o755)
    subprocess.run([*git, "-C", str(clone), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(clone), "commit", "-qm", "add script"], check=True)
    subprocess.run([*git, "-C", str(clone), "push", "-q", "origin", "HEAD:main"], check=True)
    _, head = subject.forge.default_branch(repo)
    change = [FileChange("bin/deploy.sh", b"#!/bin/sh\nkubectl apply -k k8s\n")]
    sha = subject.forge.commit_files(repo, BOT_BRANCH, head, change, "fix", expected_head=None)
    modes = {e.path: e.mode for e in subject.forge.list_files(repo, sha)}
    assert modes["bin/deploy.sh"] == "100755"
    assert modes["README.md"] == "100644"


def test_read_files_gives_the_exact_bytes_of_every_kind_of_file(subject: Subject) -> None:
    """Batched reads (GitHub GraphQL) fall back to REST where GraphQL's text is not the file:
    binary, truncated, not UTF-8. Whatever the route, the bytes are the file's."""
    subject.fake.graphql_text_limit = 64
    files: dict[str, bytes | str] = {
        "k8s/plain.yaml": DEPLOYMENT,
        "k8s/crlf.yaml": b"kind: Pod\r\nspec: {}\r\n",
        "k8s/latin1.yaml": b"# caf\xe9\nkind: Pod\n",
        "k8s/long.yaml": "# " + "x" * 200 + "\nkind: Pod\n",
        "bin/logo.png": b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary",
        "k8s/empty.yaml": b"",
    }
    repo = subject.seed(files)
    _, head = subject.forge.default_branch(repo)
    subject.forge.list_files(repo, head)
    wanted = [*files, "k8s/missing.yaml"]
    contents = subject.forge.read_files(repo, wanted, head)
    expected = {
        path: data if isinstance(data, bytes) else data.encode() for path, data in files.items()
    }
    assert contents == expected


def test_read_files_without_a_listing_reads_each_file(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    contents = subject.forge.read_files(repo, ["k8s/app/service.yaml", "nope.yaml"], head)
    assert contents == {"k8s/app/service.yaml": b"kind: Service\n"}


@pytest.mark.parametrize("subject", ["github"], indirect=True)  # GitLab has no batch yet
def test_read_files_falls_back_to_one_read_each_when_a_batch_is_refused(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    subject.forge.list_files(repo, head)
    subject.fake.fail_next(1, 422, body='{"message": "the query is refused"}')
    paths = ["k8s/app/service.yaml", "charts/web/values.yaml"]
    contents = subject.forge.read_files(repo, paths, head)
    assert contents == {paths[0]: b"kind: Service\n", paths[1]: b"image: web\n"}


def test_open_change_request_writes_the_branch_and_opens_the_request(subject: Subject) -> None:
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    changes = [
        FileChange("k8s/app/deployment.yaml", FIXED),
        FileChange("k8s/new/job.yaml", b"kind: Job\n"),
        FileChange("k8s/app/service.yaml", None),
    ]
    message = "Set imagePullPolicy\n\nTwo containers.\n\nGenerated-by: pullpolicy\n"
    created = subject.forge.open_change_request(
        repo, draft(labels=("k8s",), reviewers=("rev",)), head, changes, message
    )
    sha = subject.fake.branch_head(REPO, BOT_BRANCH) or ""
    expected = {path: as_bytes(content) for path, content in FILES.items()}
    expected["k8s/app/deployment.yaml"] = FIXED
    expected["k8s/new/job.yaml"] = b"kind: Job\n"
    del expected["k8s/app/service.yaml"]
    assert subject.fake.files(REPO, sha) == expected
    assert subject.fake.commit_parents(REPO, sha) == [head]
    assert subject.fake.commit_message(REPO, sha).strip() == message.strip()
    assert (created.state, created.source_branch, created.head_sha) == (OPEN, BOT_BRANCH, sha)
    [record] = subject.fake.change_requests(REPO)
    assert (record.number, record.body, record.labels) == (created.number, draft().body, ["k8s"])
    assert record.reviewers == ["rev"]


def test_open_change_request_never_touches_a_branch_with_commits(subject: Subject) -> None:
    """A person's branch of the same name: nothing is written and no request is opened."""
    repo = subject.seed(FILES)
    _, head = subject.forge.default_branch(repo)
    theirs = subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "their work")
    change = [FileChange("k8s/app/deployment.yaml", FIXED)]
    with pytest.raises(BranchExists):
        subject.forge.open_change_request(repo, draft(), head, change, "fix\n")
    assert subject.fake.branch_head(REPO, BOT_BRANCH) == theirs
    assert subject.fake.change_requests(REPO) == []


def test_open_change_request_keeps_the_mode_of_an_executable_file(
    subject: Subject, tmp_path: Path
) -> None:
    """GitHub's one-document write (createCommitOnBranch) makes every file 100644: a change to
    any other kind of file goes through the Git Data API instead."""
    repo = subject.seed(FILES)
    clone = tmp_path / "clone"
    git = ["git", "-c", "user.name=Human", "-c", "user.email=human@example.com"]
    subprocess.run([*git, "clone", "-q", subject.fake.git_url(REPO), str(clone)], check=True)
    script = clone / "k8s" / "render.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    subprocess.run([*git, "-C", str(clone), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(clone), "commit", "-qm", "add script"], check=True)
    subprocess.run([*git, "-C", str(clone), "push", "-q", "origin", "HEAD:main"], check=True)
    _, head = subject.forge.default_branch(repo)
    change = [FileChange("k8s/render.sh", b"#!/bin/sh\nexit 0\n")]
    subject.forge.open_change_request(repo, draft(), head, change, "fix\n")
    sha = subject.fake.branch_head(REPO, BOT_BRANCH) or ""
    modes = {e.path: e.mode for e in subject.forge.list_files(repo, sha)}
    assert modes["k8s/render.sh"] == "100755"


def test_requests_read_with_the_default_branch_are_the_listed_ones(subject: Subject) -> None:
    """The default branch's GraphQL overview reads the branch's change requests (GitHub: on
    first contact); they are the ones the REST list gives, states, labels and all; a fork's
    same-named branch not."""
    repo = subject.seed(FILES)
    merged = open_change_request(subject)
    subject.fake.merge(REPO, merged)
    closed = open_change_request(subject)
    subject.fake.close(REPO, closed)
    subject.fake.push_commit(REPO, BOT_BRANCH, {"y": "y"}, "more work")
    subject.forge.create_change_request(repo, draft(labels=("k8s", "bot")))
    fork = subject.fake.open_pull(REPO, BOT_BRANCH, {"z": "z"}, "forker", fork="forker/deploys")
    listed = subject.forge.find_change_requests(repo, BOT_BRANCH, ALL_STATES)
    # GitHub: `head=owner:branch`; GitLab's list names forks' too, their source project not ours
    assert fork not in [request.number for request in listed] and len(listed) == 3
    fresh = subject.make()
    fresh.default_branch(repo, requests_from=BOT_BRANCH)
    before = len(subject.fake.requests)
    assert fresh.find_change_requests(repo, BOT_BRANCH, ALL_STATES) == listed
    assert len(subject.fake.requests) == before  # nothing read again


def test_requests_read_with_the_default_branch_never_outlive_the_scan(subject: Subject) -> None:
    repo = subject.seed(FILES)
    subject.forge.default_branch(repo, requests_from=BOT_BRANCH)  # nothing open; never asked
    subject.fake.push_commit(REPO, BOT_BRANCH, {"x": "x"}, "work")
    created = subject.forge.create_change_request(repo, draft())
    subject.forge.default_branch(repo, requests_from=BOT_BRANCH)  # the next scan
    found = subject.forge.find_change_requests(repo, BOT_BRANCH, [OPEN])
    assert [request.number for request in found] == [created.number]
