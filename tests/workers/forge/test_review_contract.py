"""The review half of the forge contract (ReviewForge), against the fake forge."""

from __future__ import annotations

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge.base import ForgeError, ReviewComment, ReviewForge

BASE = {"k8s/app.yaml": "a: 1\nb: 2\n", "README.md": "# x\n"}
CHANGED = {"k8s/app.yaml": "a: 1\nb: 3\nc: 4\n", "k8s/new.yaml": "x: 1\n", "README.md": None}
GITHUB_ONLY = pytest.mark.parametrize("subject", ["github"], indirect=True)


def person_pull(subject: Subject, **options: object) -> int:
    subject.seed(BASE)
    subject.reset_counts()
    return subject.fake.open_pull(REPO, "feature", CHANGED, **options)  # type: ignore[arg-type]


def test_changed_files_carry_their_hunks(subject: Subject) -> None:
    number = person_pull(subject)
    forge: ReviewForge = subject.forge
    files = {f.path: f for f in forge.changed_files(subject.ref(), number)}
    assert {path: f.status for path, f in files.items()} == {
        "k8s/app.yaml": "modified",
        "k8s/new.yaml": "added",
        "README.md": "removed",
    }
    patch = files["k8s/app.yaml"].patch or ""
    assert "+b: 3" in patch and "+c: 4" in patch and patch.startswith("@@")
    # One page (on GitHub after minting the installation token).
    assert subject.api_calls() == (2 if subject.kind == "github" else 1)


def test_change_request_names_its_current_head(subject: Subject) -> None:
    number = person_pull(subject)
    head = subject.fake.pull_head(REPO, number)
    found = subject.forge.change_request(subject.ref(), number)
    assert (found.head_sha, found.target_branch, found.source_branch) == (head, "main", "feature")


def test_one_review_posts_every_comment_and_replies_resolve_threads(subject: Subject) -> None:
    number = person_pull(subject)
    head = subject.fake.pull_head(REPO, number)
    forge = subject.forge
    comments = [
        ReviewComment("k8s/app.yaml", 2, 3, "```suggestion\nb: 3\nc: 5\n```"),
        ReviewComment("k8s/new.yaml", 1, 1, "one line"),
    ]
    forge.post_review(subject.ref(), number, head, "2 findings", comments)
    if subject.kind == "github":  # one review; GitLab has discussions only
        assert subject.fake.reviews(REPO, number) == [("COMMENTED", "2 findings")]
    threads = forge.review_threads(subject.ref(), number)
    assert [(t.path, t.body, t.replies) for t in threads] == [
        ("k8s/app.yaml", comments[0].body, ()),
        ("k8s/new.yaml", "one line", ()),
    ]
    forge.resolve_review_thread(subject.ref(), number, threads[0], "fixed")
    again = forge.review_threads(subject.ref(), number)
    assert [t.replies for t in again] == [("fixed",), ()]
    assert [t.resolved for t in again] == [subject.kind == "gitlab", False]
    placed = subject.fake.diff_comments(REPO, number)[0]
    # GitHub spans the lines; GitLab sits on the first and its block says how many follow.
    expected = (2, 3) if subject.kind == "github" else (None, 2)
    assert (placed.start_line, placed.line) == expected


def test_discussions_take_the_diff_refs_of_the_merge_request_just_read(subject: Subject) -> None:
    """GitLab places a discussion with the merge request's `diff_refs`: the review's own read
    of it gives them, unless they name another head (then they are read again)."""
    number = person_pull(subject)
    head = subject.fake.pull_head(REPO, number)
    comment = [ReviewComment("k8s/new.yaml", 1, 1, "one line")]
    subject.forge.change_request(subject.ref(), number)
    subject.fake.reset_requests()
    subject.forge.post_review(subject.ref(), number, head, "1 finding", comment)
    assert [verb for verb, _ in subject.fake.requests] == ["POST"]
    subject.forge.change_request(subject.ref(), number)
    newer = subject.fake.push_to_pull(REPO, number, {"k8s/new.yaml": "a: 2\n"}, "more")
    subject.fake.reset_requests()
    subject.forge.post_review(subject.ref(), number, newer, "1 finding", comment)
    expected = ["POST"] if subject.kind == "github" else ["GET", "POST"]
    assert [verb for verb, _ in subject.fake.requests] == expected
    placed = subject.fake.diff_comments(REPO, number)[-1]
    assert placed.commit_id == newer


def test_a_comment_outside_the_diff_is_refused(subject: Subject) -> None:
    number = person_pull(subject)
    head = subject.fake.pull_head(REPO, number)
    for outside in (ReviewComment("README.md", 1, 1, "y"), ReviewComment("k8s/x.yaml", 1, 1, "")):
        with pytest.raises(ForgeError):
            subject.forge.post_review(subject.ref(), number, head, "s", [outside])
    assert subject.fake.diff_comments(REPO, number) == []


@GITHUB_ONLY
def test_a_github_review_is_refused_whole(subject: Subject) -> None:
    number = person_pull(subject)
    head = subject.fake.pull_head(REPO, number)
    outside = [ReviewComment("k8s/app.yaml", 1, 1, "x"), ReviewComment("README.md", 1, 1, "y")]
    with pytest.raises(ForgeError):
        subject.forge.post_review(subject.ref(), number, head, "s", outside)
    assert subject.fake.diff_comments(REPO, number) == []


def test_committing_a_suggestion_applies_exactly_its_lines(subject: Subject) -> None:
    number = person_pull(subject)
    head = subject.fake.pull_head(REPO, number)
    info = "suggestion" if subject.kind == "github" else "suggestion:-0+1"
    body = f"```{info}\nb: 3\nc: 5\n```"
    subject.forge.post_review(
        subject.ref(), number, head, "s", [ReviewComment("k8s/app.yaml", 2, 3, body)]
    )
    (comment,) = subject.fake.diff_comments(REPO, number)
    new_head = subject.fake.commit_suggestion(REPO, number, comment.id)
    assert subject.fake.read(REPO, new_head, "k8s/app.yaml") == b"a: 1\nb: 3\nc: 5\n"
