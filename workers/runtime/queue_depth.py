"""How many scans wait in the broker, for the status page, read the way kombu stores them.

Both scan queues count: pushes and the onboarding backlog (workers.jobs.SCAN_QUEUES).

- Embedded queue (`sqlite_queue`): rows of the scan queues available now (a row being worked on
  is leased until later; one put with a countdown waits until its due time).
- Redis: the length of each queue's list, plus the lists kombu keeps for priorities 3, 6 and 9.
- Any other broker: unknown (None).

Scans waiting for a countdown (spaced installation scans, retries) are not counted: on Redis
a worker holds them, in the embedded queue they are not due yet.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from workers.jobs import BACKLOG_QUEUE, SCAN_QUEUES
from workers.runtime.settings import Settings
from workers.runtime.sqlite_queue import FILENAME as EMBEDDED_QUEUE_FILENAME

KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)  # step 0 is the bare queue name
REDIS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class QueueDepth:
    broker: str  # "embedded" | "redis" | "other"
    waiting: int | None  # None: unknown for this broker, or the broker did not answer
    backlog: int | None = None  # of which onboarding scans (BACKLOG_QUEUE)


def queue_depth(settings: Settings) -> QueueDepth:
    if settings.embedded_queue:
        depths = _sqlite_depth(settings.data_dir / EMBEDDED_QUEUE_FILENAME)
        broker = "embedded"
    elif (settings.broker_url or "").startswith(("redis://", "rediss://", "unix://")):
        depths = _redis_depth(settings.broker_url or "")
        broker = "redis"
    else:
        return QueueDepth("other", None)
    if depths is None:
        return QueueDepth(broker, None)
    return QueueDepth(broker, sum(depths.values()), depths[BACKLOG_QUEUE])


def _sqlite_depth(path: Path) -> dict[str, int] | None:
    if not path.exists():
        return dict.fromkeys(SCAN_QUEUES, 0)  # no scan was ever queued
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return None
    try:
        rows = connection.execute(
            "SELECT queue, COUNT(*) FROM messages"
            " WHERE queue IN (?, ?) AND available_at <= ? GROUP BY queue",
            (*SCAN_QUEUES, time.time()),
        ).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return dict.fromkeys(SCAN_QUEUES, 0)  # nothing has created the table yet
        return None
    finally:
        connection.close()
    return dict.fromkeys(SCAN_QUEUES, 0) | {str(queue): int(n) for queue, n in rows}


def _redis_depth(url: str) -> dict[str, int] | None:
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    steps = ("", *(f"{KOMBU_PRIORITY_SEPARATOR}{step}" for step in KOMBU_PRIORITY_STEPS))
    try:
        pipe = client.pipeline()
        for queue in SCAN_QUEUES:
            for step in steps:
                pipe.llen(f"{queue}{step}")
        sizes = iter(int(size) for size in pipe.execute())
        return {queue: sum(next(sizes) for _ in steps) for queue in SCAN_QUEUES}
    except redis.RedisError:
        return None
    finally:
        client.close()
