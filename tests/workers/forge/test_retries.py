"""Production retry settings: reads retry a bounded number of times, writes never do."""

from __future__ import annotations

import pytest

from tests.forge_subjects import REPO, Subject
from workers.forge.base import ChangeRequestDraft, Transient

RETRIES = 2


def retrying(subject: Subject) -> Subject:
    """The subject with a second adapter using retries as production does (bounded)."""
    if subject.kind == "github":
        subject.forge = subject.make(retry=RETRIES)
    else:
        subject.forge = subject.make(retry_transient_errors=True, max_retries=RETRIES)
    return subject


def test_a_read_survives_a_transient_failure_and_every_attempt_counts(subject: Subject) -> None:
    s = retrying(subject)
    repo = s.seed({"a.txt": "a"})
    s.forge.default_branch(repo)
    s.reset_counts()
    s.fake.fail_next(1, 502)
    assert s.forge.branch_head(repo, "main") == s.fake.branch_head(REPO, "main")
    assert len(s.fake.requests) == 2
    assert s.api_calls() == 2


def test_read_retries_are_bounded(subject: Subject) -> None:
    s = retrying(subject)
    repo = s.seed({"a.txt": "a"})
    s.forge.default_branch(repo)
    s.reset_counts()
    s.fake.fail_next(10, 503)
    with pytest.raises(Transient):
        s.forge.branch_head(repo, "main")
    assert len(s.fake.requests) == 1 + RETRIES
    assert s.api_calls() == 1 + RETRIES


def test_writes_are_not_retried(subject: Subject) -> None:
    s = retrying(subject)
    repo = s.seed({"a.txt": "a"})
    s.fake.push_commit(REPO, "pullpolicy/fix", {"b.txt": "b"}, "work")
    s.forge.default_branch(repo)
    s.reset_counts()
    s.fake.fail_next(1, 502)
    draft = ChangeRequestDraft("Fix", "body", "pullpolicy/fix", "main")
    with pytest.raises(Transient):
        s.forge.create_change_request(repo, draft)
    assert len(s.fake.requests) == 1
    assert s.fake.change_requests(REPO) == []
    s.forge.create_change_request(repo, draft)  # the caller decides to try again
    assert len(s.fake.change_requests(REPO)) == 1
