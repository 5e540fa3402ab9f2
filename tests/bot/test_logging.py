"""The JSON lines of the web process: uvicorn's access log without query strings, exceptions by
type and frames only, and every library's records in the same format."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from workers.runtime.logs import JsonFormatter, configure_process_logging


def access_record(target: str) -> logging.LogRecord:
    args = ("127.0.0.1:5000", "GET", target, "1.1", 200)  # uvicorn's access-log arguments
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None
    )


def test_the_access_log_never_keeps_a_query_string() -> None:
    line = JsonFormatter().format(access_record("/setup/callback?code=one-time-code&state=s"))
    entry = json.loads(line)
    assert "one-time-code" not in line
    assert entry["path"] == "/setup/callback" and entry["status_code"] == 200
    assert entry["message"] == "GET /setup/callback 200"


def test_an_exception_is_its_type_and_frames_never_its_message() -> None:
    try:
        raise ConnectionError("redis://:s3cret@cache:6379 refused")
    except ConnectionError:
        record = logging.LogRecord(
            "uvicorn.error",
            logging.ERROR,
            "",
            0,
            "Exception in ASGI application",
            None,
            sys.exc_info(),
        )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "s3cret" not in line and "\n" not in line
    assert entry["error"] == "ConnectionError"
    assert entry["traceback"][-1].endswith(
        " test_an_exception_is_its_type_and_frames_never_its_message"
    )


def test_every_library_logs_json(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.lastResort, sys.excepthook)
    try:
        configure_process_logging()
        logging.getLogger("uvicorn.error").info("Started server process [1]")
        orphan = logging.getLogger("multiprocessing-like")
        orphan.propagate = False  # no handler, no parent: logging's last resort
        orphan.error("Process %r exited", "ForkPoolWorker-1")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.lastResort = saved[2]
        sys.excepthook = saved[3]
        logging.captureWarnings(False)
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines] == [
        "Started server process [1]",
        "Process 'ForkPoolWorker-1' exited",
    ]
