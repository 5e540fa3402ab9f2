"""The record of recent scans for the status page: written by workers, read by the receiver.

Same two backends as workers.runtime.state: a Redis list when `redis_url` is set (workers and
receiver may run on different machines), else a SQLite file in the data dir. Only the newest KEEP
records are kept. Recording is best effort: a scan never fails because of it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workers.jobs import ScanJob
from workers.runtime.logs import WORKER_LOGGER_NAME
from workers.runtime.settings import Settings
from workers.runtime.sqlite_files import ThreadConnections

if TYPE_CHECKING:
    import redis

ACTIVITY_FILENAME = "activity.sqlite"
REDIS_KEY = "pullpolicy:activity:scans"
KEEP = 100
SQLITE_BUSY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 2.0

log = logging.getLogger(WORKER_LOGGER_NAME)


@dataclass(frozen=True)
class ScanRecord:
    forge: str
    repository: str
    head_sha: str | None
    outcome: str  # a ScanOutcome action: "opened", "updated", "none", "invalid-config", ...
    findings: int | None
    pr_number: int | None
    pr_url: str | None
    reason: str  # why the scan ran: "push", "installation", ...
    finished_at: str  # ISO 8601, UTC
    detail: str = ""  # why the bot left its branch alone, when it did

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanRecord:
        return cls(
            forge=str(data["forge"]),
            repository=str(data["repository"]),
            head_sha=_optional_str(data.get("head_sha")),
            outcome=str(data["outcome"]),
            findings=_optional_int(data.get("findings")),
            pr_number=_optional_int(data.get("pr_number")),
            pr_url=_optional_str(data.get("pr_url")),
            reason=str(data.get("reason", "")),
            finished_at=str(data["finished_at"]),
            detail=str(data.get("detail") or ""),
        )


def scan_record(
    settings: Settings, job: ScanJob, result: Mapping[str, Any], now: datetime | None = None
) -> ScanRecord:
    """The record of one finished scan; `result` is the task's result (a ScanOutcome dict)."""
    number = _optional_int(result.get("pr_number"))
    return ScanRecord(
        forge=job.forge,
        repository=job.repo,
        head_sha=_optional_str(result.get("head_sha")),
        outcome=str(result.get("action", "")),
        findings=_optional_int(result.get("findings")),
        pr_number=number,
        pr_url=None if number is None else change_request_url(settings, job, number),
        reason=job.reason,
        finished_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        detail=str(result.get("detail") or ""),
    )


def change_request_url(settings: Settings, job: ScanJob, number: int) -> str | None:
    """Where people see the PR/MR: the forges build these URLs the same way for every one."""
    if job.forge == "github":
        return f"{settings.effective_github_web_url}/{job.repo}/pull/{number}"
    if job.forge == "gitlab" and settings.gitlab_url:
        return f"{settings.gitlab_url.rstrip('/')}/{job.repo}/-/merge_requests/{number}"
    return None


class ScanRecorder:
    """What a worker calls after each finished scan; opens the store on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._activity: Activity | None = None

    def __call__(self, job: ScanJob, result: Mapping[str, Any]) -> None:
        try:
            if self._activity is None:
                self._activity = open_activity(self._settings)
            self._activity.record(scan_record(self._settings, job, result))
        except Exception as error:  # the status page is not worth failing a scan for
            log.warning(
                "could not record the scan for the status page",
                extra={"repository": job.repo, "error": type(error).__name__},
            )


class Activity(Protocol):
    def record(self, record: ScanRecord) -> None: ...

    def latest(self, limit: int) -> list[ScanRecord]:
        """Newest first."""
        ...

    def close(self) -> None: ...


def open_activity(settings: Settings) -> Activity:
    if settings.redis_url:
        return RedisActivity(settings.redis_url)
    return SqliteActivity(settings.data_dir / ACTIVITY_FILENAME)


class RedisActivity:
    def __init__(self, url: str) -> None:
        import redis  # only deployments that configure Redis need the client

        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )

    def record(self, record: ScanRecord) -> None:
        pipe = self._client.pipeline()
        pipe.lpush(REDIS_KEY, json.dumps(asdict(record)))
        pipe.ltrim(REDIS_KEY, 0, KEEP - 1)
        pipe.execute()

    def latest(self, limit: int) -> list[ScanRecord]:
        raw = self._client.lrange(REDIS_KEY, 0, max(0, limit - 1))
        return [ScanRecord.from_dict(json.loads(item)) for item in raw]

    def close(self) -> None:
        self._client.close()


_SCHEMA = "CREATE TABLE IF NOT EXISTS scans (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT)"


class SqliteActivity:
    """One row per scan, JSON-encoded; a connection per thread, WAL for readers beside writers."""

    def __init__(self, path: Path) -> None:
        self._connections = ThreadConnections(path, busy_seconds=SQLITE_BUSY_SECONDS)
        self._connection().execute(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()

    def record(self, record: ScanRecord) -> None:
        connection = self._connection()
        inserted = connection.execute(
            "INSERT INTO scans (record) VALUES (?)", (json.dumps(asdict(record)),)
        ).lastrowid
        connection.execute("DELETE FROM scans WHERE id <= ?", ((inserted or 0) - KEEP,))

    def latest(self, limit: int) -> list[ScanRecord]:
        rows = (
            self._connection()
            .execute("SELECT record FROM scans ORDER BY id DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [ScanRecord.from_dict(json.loads(row[0])) for row in rows]

    def close(self) -> None:
        self._connections.close()


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: object) -> int | None:
    return None if value is None or isinstance(value, bool) else int(str(value))
