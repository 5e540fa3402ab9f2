"""Reading a request body with a hard size cap and a deadline: the declared length first, then
the stream. A sender that goes away or stalls mid-body ends the read with an exception of ours,
never starlette's ClientDisconnect traceback, and never holds the request open for good."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

# GitHub caps webhook payloads at 25 MB (decimal), and GitLab's default limit is lower:
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap
MAX_BODY_BYTES = 25 * 1000 * 1000
# GitHub and GitLab (by default) give up on a delivery after 10 s: a body still arriving after
# this long comes from no forge, and must not hold a connection and a buffer any longer.
BODY_TIMEOUT_SECONDS = 30.0


class BodyTooLarge(Exception):
    pass


class BadContentLength(Exception):
    pass


class BodyIncomplete(Exception):
    """The client closed the connection before the whole body arrived."""


class BodyTimedOut(Exception):
    """The whole body did not arrive within the deadline."""


async def read_capped(
    request: Request, limit: int = MAX_BODY_BYTES, timeout: float = BODY_TIMEOUT_SECONDS
) -> bytes:
    """The whole body, refusing anything over `limit` bytes before and while reading it, or
    taking longer than `timeout` seconds in all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadContentLength(declared[:32])
        if int(declared) > limit:
            raise BodyTooLarge
    received = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                received += chunk
                if len(received) > limit:  # chunked or lying senders stop here, not at the end
                    raise BodyTooLarge
    except TimeoutError:
        raise BodyTimedOut from None
    except ClientDisconnect:
        raise BodyIncomplete from None
    return bytes(received)
