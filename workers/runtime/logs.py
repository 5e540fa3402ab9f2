"""Structured logs (one JSON object per line) for the receiver and the workers, keyed by
delivery, repository and task.

Only the fields listed in LOG_FIELDS leave a record: a stray `extra=` can never carry a header,
a body or a secret into the output.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

LOGGER_NAME = "pullpolicy.bot"
WORKER_LOGGER_NAME = "pullpolicy.worker"
LOG_FIELDS = (
    "forge",
    "event",
    "delivery_id",
    "repository",
    "installation_id",
    "task_id",
    "status",
    "reason",
    "jobs",
    "error",
    "head_sha",
    "findings",
    "action",
    "pr_number",
    "api_calls",
    "retry_in",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        attributes = record.__dict__  # a dict lookup: getattr's default path raises inside
        for field in LOG_FIELDS:
            value = attributes.get(field)
            if value is not None:
                entry[field] = value
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: int = logging.INFO, name: str = LOGGER_NAME) -> None:
    """JSON lines on stderr for one of our loggers (idempotent).

    Records skip what our lines never print (caller frame, thread and process names): the
    logging HOWTO's optimisations, worth ~20 µs of a webhook's ~200 µs.
    """
    logging._srcfile = None  # no findCaller() stack walk
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logger = logging.getLogger(name)
    if any(isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
