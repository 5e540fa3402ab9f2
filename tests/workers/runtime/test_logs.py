"""workers.runtime.logs: one JSON object per line, only whitelisted fields."""

from __future__ import annotations

import io
import json
import logging

import pytest

from workers.runtime.logs import LOGGER_NAME, JsonFormatter, configure_logging


def test_json_lines_carry_only_whitelisted_fields() -> None:
    record = logging.LogRecord(
        LOGGER_NAME, logging.INFO, __file__, 1, "webhook %s", ("queued",), None
    )
    record.delivery_id = "d-1"
    record.repository = "o/r"
    record.headers = {"X-Hub-Signature-256": "sha256=secret"}  # not whitelisted: never written
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "webhook queued"
    assert entry["delivery_id"] == "d-1"
    assert entry["repository"] == "o/r"
    assert entry["level"] == "INFO"
    assert "headers" not in entry
    assert "secret" not in json.dumps(entry)


def test_configure_logging_writes_json_once(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "level", logger.level)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging()
    configure_logging()  # idempotent: still one handler
    logger.info("webhook %s", "ignored", extra={"reason": "ping: pong", "forge": "github"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["reason"] == "ping: pong"


def test_a_librarys_line_never_quotes_the_exceptions_message() -> None:
    # Celery's own failure line: "Task ... raised unexpected: ValueError('...')", with exc_info.
    secret = "https://user:hunter2@forge.example/api"
    try:
        raise ValueError(f"cannot reach {secret}")
    except ValueError as error:
        exc_info = (type(error), error, error.__traceback__)
        record = logging.LogRecord(
            "celery.app.trace",
            logging.ERROR,
            __file__,
            1,
            "Task %s[%s] raised unexpected: %r",
            ("pullpolicy.scan", "t-1", error),
            exc_info,
        )
    entry = json.loads(JsonFormatter().format(record))
    assert "hunter2" not in json.dumps(entry)
    assert entry["message"] == "Task pullpolicy.scan[t-1] raised unexpected: ValueError"
    assert entry["error"] == "ValueError" and entry["traceback"]
