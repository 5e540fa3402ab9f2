"""Fixes declined in a review reach the fix PR's declined list once that pull request merges
(workers.scan.review_declines), against the local fake forge and a SQLite state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.forge_subjects import REPO, Subject
from tests.workers.scan.test_review import NEW_DEPLOYMENT, job, seeded_pull
from workers.core.explain import parse_marker
from workers.core.review import parse_comment_marker
from workers.forge.base import ChangeRequest, ChangeRequestState, RepoRef
from workers.jobs import ScanJob
from workers.runtime.state import SqliteState
from workers.scan import review_declines
from workers.scan import run as scan
from workers.scan.review import review


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SqliteState]:
    opened = SqliteState(tmp_path / "state.sqlite")
    yield opened
    opened.close()


def lock_key(subject: Subject) -> str:
    return f"{subject.kind}:{REPO}"


def reviewed_with_one_ignored(subject: Subject, state: SqliteState) -> tuple[int, str]:
    """A pull request adding two containers; its author ignores the first suggestion."""
    number = seeded_pull(subject)

    def record(found: frozenset[str]) -> None:
        review_declines.record(state, lock_key(subject), number, found)

    review(subject.forge, job(subject, number), record_declined=record)
    first = subject.fake.diff_comments(REPO, number)[0]
    subject.fake.reply_to_comment(REPO, number, first.id, "pullpolicy: ignore")
    review(subject.forge, job(subject, number), record_declined=record)
    marker = parse_comment_marker(first.body)
    assert marker is not None and len(marker[0]) == 1
    return number, marker[0][0]


def fix_scan(subject: Subject, state: SqliteState) -> tuple[str, ...]:
    """Scan the default branch as a push does; the fingerprints the fix PR carries."""
    ref = subject.ref()
    push = ScanJob(
        forge=subject.kind, repo=REPO, reason="push", installation_id=ref.installation_id
    )
    scan.run(
        subject.forge,
        push,
        review_declined=lambda: review_declines.declined(
            state, subject.forge, ref, lock_key(subject)
        ),
    )
    opened = [r for r in subject.fake.change_requests(REPO) if r.state == "open"]
    markers = [parse_marker(r.body) for r in opened]
    return tuple(f for m in markers if m is not None for f in m[1])


def test_a_fix_declined_in_a_merged_review_is_not_proposed_by_the_fix_pr(
    subject: Subject, state: SqliteState
) -> None:
    number, ignored = reviewed_with_one_ignored(subject, state)
    subject.fake.merge(REPO, number)
    proposed = fix_scan(subject, state)
    assert ignored not in proposed
    assert len(proposed) == 2  # the other container of the merged file, and k8s/old.yaml's
    assert set(state.numbers(f"review-declines:{lock_key(subject)}").values()) == {1.0}


def test_declines_of_a_pull_request_still_open_or_closed_unmerged_decline_nothing(
    subject: Subject, state: SqliteState
) -> None:
    number, ignored = reviewed_with_one_ignored(subject, state)
    ref = subject.ref()
    assert review_declines.declined(state, subject.forge, ref, lock_key(subject)) == frozenset()
    assert set(state.numbers(f"review-declines:{lock_key(subject)}").values()) == {0.0}
    subject.fake.close(REPO, number)
    assert review_declines.declined(state, subject.forge, ref, lock_key(subject)) == frozenset()
    assert set(state.numbers(f"review-declines:{lock_key(subject)}").values()) == {-1.0}
    # the same container merged by another pull request is proposed as ever
    other = subject.fake.open_pull(REPO, "again", {"k8s/web.yaml": NEW_DEPLOYMENT})
    subject.fake.merge(REPO, other)
    assert ignored in fix_scan(subject, state)


class _Pulls:
    """change_request only: counts the reads."""

    def __init__(self) -> None:
        self.read: list[int] = []

    def change_request(self, repo: RepoRef, number: int) -> ChangeRequest:
        self.read.append(number)
        return ChangeRequest(number, "", ChangeRequestState.OPEN, "", "", "b", "main", None)


def test_one_scan_reads_at_most_max_checked_pull_requests(state: SqliteState) -> None:
    for number in range(1, review_declines.MAX_CHECKED + 6):
        review_declines.record(state, "github:o/r", number, ["f"])
    pulls = _Pulls()
    repo = RepoRef("github", "o/r", None)
    review_declines.declined(state, pulls, repo, "github:o/r")  # type: ignore[arg-type]
    assert pulls.read == list(range(1, review_declines.MAX_CHECKED + 1))
