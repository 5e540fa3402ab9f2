"""Structured logs (one JSON object per line) for the receiver and the workers, keyed by
delivery, repository and task.

Only the fields listed in LOG_FIELDS leave a record: a stray `extra=` can never carry a header,
a body or a secret into the output. An exception is shown by its type and frames (file, line,
function), never its message, which could quote a URL with credentials. `configure_process_logging`
sends every other library's records (uvicorn, Celery, kombu, warnings) through the same format.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType

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
ACCESS_LOGGER_NAME = "uvicorn.access"
TRACEBACK_FRAMES = 8  # the innermost ones: where it failed, not how the server got there


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        access = _access_fields(record) if record.name == ACCESS_LOGGER_NAME else None
        if access is None:
            entry["message"] = _without_exception_text(record)
        else:
            entry |= access
        attributes = record.__dict__  # a dict lookup: getattr's default path raises inside
        for field in LOG_FIELDS:
            value = attributes.get(field)
            if value is not None:
                entry[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry.setdefault("error", record.exc_info[0].__name__)
            entry["traceback"] = _frames(record.exc_info[2])
        return orjson.dumps(entry, default=str).decode()


def _without_exception_text(record: logging.LogRecord) -> str:
    """The record's message, with the text of the exception it reports cut down to the
    exception's type: libraries (Celery's "raised unexpected: ValueError('...')") quote it."""
    message = record.getMessage()
    error = record.exc_info[1] if record.exc_info else None
    if error is None:
        return message
    name = type(error).__name__
    for quoted in (repr(error), str(error)):
        if quoted and quoted != name:
            message = message.replace(quoted, name)
    return message


def _access_fields(record: logging.LogRecord) -> dict[str, object] | None:
    """uvicorn's access line without the query string: a URL's query may carry a one-time code
    or a token, and a log keeps it (uvicorn's args: client, method, path?query, HTTP version,
    status)."""
    args = record.args
    if not (isinstance(args, tuple) and len(args) == 5):
        return None
    client, method, target, _, status = args
    path = str(target).split("?", 1)[0]
    return {
        "message": f"{method} {path} {status}",
        "method": method,
        "path": path,
        "status_code": status,
        "client": client,
    }


def _frames(trace: TracebackType | None) -> list[str]:
    return [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(trace)[-TRACEBACK_FRAMES:]
    ]


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


def configure_process_logging(level: int = logging.INFO) -> None:
    """Every record of this process, ours (at INFO) or a library's (at `level`: uvicorn's
    access and error logs, Celery's, warnings), as one JSON line on stderr; an uncaught
    exception too."""
    configure_logging(logging.INFO, LOGGER_NAME)
    configure_logging(logging.INFO, WORKER_LOGGER_NAME)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # A logger that neither has a handler nor propagates (billiard's pool supervisor) would
    # otherwise reach logging's plain-text last resort.
    last_resort = logging.StreamHandler(sys.stderr)
    last_resort.setFormatter(JsonFormatter())
    last_resort.setLevel(logging.WARNING)
    logging.lastResort = last_resort
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    logging.getLogger(LOGGER_NAME).critical("uncaught exception", exc_info=(kind, error, trace))


def write_json_line(message: str, name: str, level: int = logging.WARNING) -> None:
    """One JSON line straight to stderr with a single write, no logging lock: safe in a signal
    handler (where Celery prints its shutdown notices)."""
    record = logging.LogRecord(name, level, "", 0, message.strip(), None, None)
    os.write(sys.stderr.fileno(), (JsonFormatter().format(record) + "\n").encode())
