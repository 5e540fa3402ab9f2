"""Tokens, JWTs and the App key never reach logs or exception messages.

A full scenario per adapter, failures included, with every logger at DEBUG (PyGithub logs each
request with its headers and response body; urllib3 logs each connection).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest

from tests.fakeforge.app_keys import AppKey
from tests.forge_subjects import GITLAB_TOKEN, Subject
from workers.forge import github_auth
from workers.forge.base import (
    ChangeRequestDraft,
    ChangeRequestState,
    CheckConclusion,
    CheckReport,
    FileChange,
    ForgeError,
)

BRANCH = "pullpolicy/fix"


def full_scenario(subject: Subject, failures: list[BaseException]) -> None:
    forge, fake = subject.forge, subject.fake

    def expect_failure(action: Callable[[], object]) -> None:
        try:
            action()
        except (ForgeError, ValueError) as exc:
            failures.append(exc)
        else:
            raise AssertionError("the scenario expected a failure here")

    repo = subject.seed({"k8s/deploy.yaml": "kind: Deployment\n"})
    name, head = forge.default_branch(repo)
    [entry] = forge.list_files(repo, head)
    forge.read_file(repo, entry.path, head)
    change = [FileChange(entry.path, b"kind: Deployment\n# fixed\n")]
    sha = forge.commit_files(repo, BRANCH, head, change, "fix", expected_head=None)
    expect_failure(lambda: forge.commit_files(repo, BRANCH, head, change, "x", expected_head=None))
    expect_failure(lambda: forge.commit_files(repo, name, head, change, "x", expected_head=head))
    draft = ChangeRequestDraft("Fix", "body", BRANCH, name, labels=("pullpolicy",))
    number = forge.create_change_request(repo, draft).number
    expect_failure(lambda: forge.create_change_request(repo, draft))
    fake.expire_tokens()  # GitHub: a 401, then a freshly minted token
    forge.update_change_request(repo, number, body="new body")
    fake.fail_next(1, 429, retry_after=7)
    expect_failure(lambda: forge.comment(repo, number, "hello"))
    fake.fail_next(1, 502)
    expect_failure(lambda: forge.branch_head(repo, BRANCH))
    bad_credentials = '{"message": "Bad credentials"}'
    if subject.kind == "github":  # one refused request is survived by minting a new token
        fake.fail_next(1, 401, body=bad_credentials)
        forge.find_change_requests(repo, BRANCH, [ChangeRequestState.OPEN])
    # GitHub: the request and the new mint are refused; GitLab: the request is refused
    fake.fail_next(2 if subject.kind == "github" else 1, 401, body=bad_credentials)
    expect_failure(lambda: forge.branch_head(repo, BRANCH))
    forge.report(repo, CheckReport("pullpolicy", sha, CheckConclusion.NEUTRAL, "t", "s"))
    forge.close_change_request(repo, number, comment="bye")
    forge.delete_branch(repo, BRANCH, expected_head=sha)
    impatient = subject.make(timeout=1)
    subject.fake.slow_next(1, 2)
    expect_failure(lambda: impatient.branch_head(repo, "main"))


def test_no_secret_in_logs_or_errors(
    subject: Subject,
    app_key: AppKey,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets: list[str] = [GITLAB_TOKEN, app_key.private_pem.splitlines()[1]]
    real_jwt, real_token = github_auth.app_jwt, github_auth.AppInstallationTokens.token

    def recording_jwt(*args: object, **kwargs: object) -> str:
        secrets.append(real_jwt(*args, **kwargs))  # type: ignore[arg-type]
        return secrets[-1]

    def recording_token(self: github_auth.AppInstallationTokens, installation_id: int) -> str:
        secrets.append(real_token(self, installation_id))
        return secrets[-1]

    monkeypatch.setattr(github_auth, "app_jwt", recording_jwt)
    monkeypatch.setattr(github_auth.AppInstallationTokens, "token", recording_token)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="github")  # PyGithub pins its own logger to INFO
    failures: list[BaseException] = []

    full_scenario(subject, failures)

    if subject.kind == "github":
        minted = {s for s in secrets if s.startswith("ghs_")}
        assert len(minted) >= 2  # the expired token was replaced
        assert any(r.name.startswith("github") for r in caplog.records)
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert len(failures) == 7
    texts = [caplog.text, *(r.getMessage() for r in caplog.records)]
    for failure in failures:
        texts.append("".join(traceback.format_exception(failure)))
        texts.append(repr(failure.__cause__))
    for secret in set(secrets):
        for text in texts:
            assert secret not in text
