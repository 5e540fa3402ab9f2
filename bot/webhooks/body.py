"""Reading a request body with a hard size cap: the declared length first, then the stream."""

from __future__ import annotations

from starlette.requests import Request

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB


class BodyTooLarge(Exception):
    pass


class BadContentLength(Exception):
    pass


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, refusing anything over `limit` bytes before and while reading it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadContentLength(declared[:32])
        if int(declared) > limit:
            raise BodyTooLarge
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:  # chunked or lying senders stop here, not at end of stream
            raise BodyTooLarge
    return bytes(received)
