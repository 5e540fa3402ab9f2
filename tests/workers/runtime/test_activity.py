"""The record of recent scans behind /status: bounded, newest first, and never a reason for a
scan to fail."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.jobs import ScanJob
from workers.runtime.activity import (
    KEEP,
    ScanRecorder,
    SqliteActivity,
    change_request_url,
    scan_record,
)
from workers.runtime.logs import WORKER_LOGGER_NAME
from workers.runtime.settings import Settings

PUSH = ScanJob(forge="github", repo="acme/deploys", reason="push", head_sha="b" * 40)


def test_keeps_only_the_newest_records(tmp_path: Path) -> None:
    activity = SqliteActivity(tmp_path / "activity.sqlite")
    settings = Settings()
    for number in range(KEEP + 5):
        job = ScanJob(forge="github", repo=f"acme/r{number}", reason="push")
        activity.record(scan_record(settings, job, {"head_sha": "c" * 40, "action": "none"}))
    latest = activity.latest(KEEP * 2)
    assert len(latest) == KEEP
    assert latest[0].repository == f"acme/r{KEEP + 4}" and latest[-1].repository == "acme/r5"
    activity.close()
    reopened = SqliteActivity(tmp_path / "activity.sqlite")
    assert reopened.latest(1)[0].repository == f"acme/r{KEEP + 4}"
    reopened.close()


def test_a_record_says_what_the_scan_did_and_where_its_pr_is() -> None:
    settings = Settings(github_api_url="https://ghe.example.com/api/v3")
    result = {"repo": "acme/deploys", "head_sha": "d" * 40, "findings": 3, "action": "opened"}
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    made = scan_record(settings, PUSH, {**result, "pr_number": 12}, now)
    assert made.pr_url == "https://ghe.example.com/acme/deploys/pull/12"
    assert (made.outcome, made.findings, made.head_sha) == ("opened", 3, "d" * 40)
    assert made.finished_at == "2026-01-02T03:04:05+00:00"
    assert scan_record(settings, PUSH, {**result, "pr_number": None}, now).pr_url is None
    assert made.detail == ""
    blocked = {**result, "action": "branch-blocked", "detail": "branch `x` is not ours"}
    assert scan_record(settings, PUSH, blocked, now).detail == "branch `x` is not ours"
    gitlab = ScanJob(forge="gitlab", repo="group/app", reason="push")
    on_gitlab = Settings(gitlab_url="https://gitlab.example.com/")
    assert (
        change_request_url(on_gitlab, gitlab, 4)
        == "https://gitlab.example.com/group/app/-/merge_requests/4"
    )


def test_recording_failures_are_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the data dir should be")
    record = ScanRecorder(Settings(data_dir=blocked))
    with caplog.at_level(logging.WARNING, logger=WORKER_LOGGER_NAME):
        record(PUSH, {"head_sha": "e" * 40, "action": "none"})
    assert "could not record the scan" in caplog.text
