"""Reading a delivery's body: the 25 MB cap, a sender that goes away mid-body, one that stalls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from bot.main import create_app
from bot.webhooks.body import (
    MAX_BODY_BYTES,
    BodyIncomplete,
    BodyTimedOut,
    read_capped,
)
from bot.webhooks.enqueue import InMemoryEnqueuer
from tests.bot.helpers import github_headers
from tests.bot.test_app import Harness, make_settings
from workers.runtime.logs import LOGGER_NAME
from workers.runtime.state import SqliteState

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


def first_chunk_then(after: Message | None) -> Receive:
    """A client that sends part of a declared body, then `after` (None: nothing, ever)."""
    sent = [{"type": "http.request", "body": b'{"partial": ', "more_body": True}]

    async def receive() -> Message:
        if sent:
            return sent.pop()
        if after is None:
            await asyncio.Event().wait()  # a stalled sender: never another byte
        assert after is not None
        return after

    return receive


def scope(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/github",
        "raw_path": b"/webhooks/github",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


DISCONNECT: Message = {"type": "http.disconnect"}
DECLARED = {"content-length": "1000"}


def test_the_cap_is_githubs_25_mb_not_mib(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    assert MAX_BODY_BYTES == 25_000_000  # docs.github.com: "Payloads are capped at 25 MB"
    over = github_headers("push", b"{}") | {"Content-Length": str(25_000_001)}
    response = harness.client.post("/webhooks/github", content=b"{}", headers=over)
    assert response.status_code == 413
    harness.state.close()


def test_a_sender_that_goes_away_mid_body_is_our_exception() -> None:
    request = Request(scope(DECLARED), first_chunk_then(DISCONNECT))
    with pytest.raises(BodyIncomplete):
        asyncio.run(read_capped(request))


def test_a_stalled_body_ends_at_the_deadline() -> None:
    request = Request(scope(DECLARED), first_chunk_then(None))
    with pytest.raises(BodyTimedOut):
        asyncio.run(read_capped(request, timeout=0.05))


def call_app(tmp_path: Path, receive: Receive) -> list[Message]:
    """One request straight into the ASGI app (no test client to buffer the body first)."""
    state = SqliteState(tmp_path / "state.sqlite")
    app = create_app(
        make_settings(tmp_path), enqueuer=InMemoryEnqueuer(), state=state, body_timeout=0.05
    )
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = github_headers("push", b"{}") | DECLARED
    try:
        asyncio.run(app(scope(headers), receive, send))
    finally:
        state.close()
    return sent


@pytest.mark.parametrize(
    ("after", "status", "outcome"),
    [(DISCONNECT, 400, "incomplete"), (None, 408, "timed-out")],
    ids=["dropped", "stalled"],
)
def test_the_app_answers_a_broken_body_with_one_log_line(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    after: Message | None,
    status: int,
    outcome: str,
) -> None:
    with caplog.at_level(logging.DEBUG):
        sent = call_app(tmp_path, first_chunk_then(after))  # raised nothing
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == status
    records = [r for r in caplog.records if r.name == LOGGER_NAME]
    assert len(records) == 1 and records[0].exc_info is None
    assert records[0].__dict__["status"] == outcome
