"""Redis mode's admission of a delivery in one round trip, awaited on the event loop.

When the broker and the shared state are the same Redis database, one Lua script does what
took three calls: check the "scanned before" mark (`EXISTS`), take the delivery's dedupe claim
(`SET NX PX`, 8 days) and push the Celery messages onto the queue's list (`LPUSH`, what kombu's
Redis transport does for a priority-0 message). A script runs atomically, so:

- an answer lost on the way back (timeout, dropped connection) leaves either the claim and the
  messages or neither: the receiver answers 503 and gives nothing back, and the forge's
  redelivery is then queued (neither) or a duplicate (both): never lost, never queued twice;
- a push refused inside the script (the queue's key is not a list) deletes the claim it took
  before failing, so the redelivery gets in;
- Redis out of memory refuses the script's first write (the claim), so nothing is written.

The script is sent once per server (`EVALSHA`; on `NOSCRIPT`, after a restart or `SCRIPT
FLUSH`, it is loaded again). The client is redis.asyncio: no Redis call blocks the event loop
and no delivery pays a hop to a worker thread.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.webhooks.enqueue import REDIS_TIMEOUT_SECONDS, Enqueuer, RedisEnqueuer
from workers.jobs import SCAN_QUEUE
from workers.runtime.state import RedisState, State, redis_key

if TYPE_CHECKING:
    import redis.asyncio

# KEYS: the queue's list, the delivery's claim, the "scanned before" mark ("" when not asked).
# ARGV: claim? ('1'/'0'), claim TTL in ms, mark? ('1'/'0'), then the messages to push.
ADMIT_SCRIPT = """
if ARGV[3] == '1' and redis.call('exists', KEYS[3]) == 1 then
    return 'scanned'
end
if ARGV[1] == '1' and not redis.call('set', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
    return 'duplicate'
end
local pushed = redis.pcall('lpush', KEYS[1], unpack(ARGV, 4))
if type(pushed) == 'table' and pushed.err then
    if ARGV[1] == '1' then
        redis.call('del', KEYS[2])
    end
    return pushed
end
return 'queued'
"""


class Admitted(enum.Enum):
    """What the script did."""

    QUEUED = "queued"  # claim taken (if any) and messages pushed
    DUPLICATE = "duplicate"  # the claim was held: nothing written
    SCANNED = "scanned"  # the mark was there: the delivery is ignored, nothing written


class OneTrip:
    """Runs ADMIT_SCRIPT on a redis.asyncio client of the event loop it is called from.

    Every message goes to one queue: the receiver sends only deliveries whose jobs all belong in
    SCAN_QUEUE this way (installations, whose scans go to the backlog, take the general path)."""

    def __init__(self, url: str, queue: str = SCAN_QUEUE) -> None:
        self._url = url
        self._queue = queue
        self._sha: str | None = None
        # A client's connections belong to the loop that opened them: one client per loop
        # (a server runs one; tests may run a loop per request).
        self._client: redis.asyncio.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _redis(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio  # only deployments with Redis need the client

            self._client = redis.asyncio.Redis.from_url(
                self._url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self._loop = loop
        return self._client

    async def admit(
        self,
        messages: Sequence[str],
        *,
        claim_key: str | None,
        claim_ttl_seconds: float,
        mark_key: str | None,
    ) -> Admitted:
        """Check `mark_key`, take `claim_key` and push `messages`, in one atomic script.
        Raises when Redis cannot be reached or refuses the push (nothing then stays)."""
        if not messages:
            raise ValueError("a delivery admitted in one trip queues at least one message")
        keys = [self._queue, claim_key or "", mark_key or ""]
        ttl_ms = max(1, int(claim_ttl_seconds * 1000))
        args = ["1" if claim_key else "0", str(ttl_ms), "1" if mark_key else "0", *messages]
        answer = await self._evaluate(keys, args)
        return Admitted(answer.decode() if isinstance(answer, bytes) else answer)

    async def _evaluate(self, keys: list[str], args: list[str]) -> Any:
        import redis.exceptions

        client = self._redis()
        if self._sha is None:
            self._sha = await client.script_load(ADMIT_SCRIPT)
        try:
            return await client.evalsha(self._sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:  # Redis restarted or flushed its scripts
            self._sha = await client.script_load(ADMIT_SCRIPT)
            return await client.evalsha(self._sha, len(keys), *keys, *args)


def claim_key(namespace: str, key: str) -> str:
    return redis_key("claim", namespace, key)


def mark_key(namespace: str, key: str) -> str:
    return redis_key("mark", namespace, key)


def one_trip_for(state: State, enqueuer: Enqueuer) -> OneTrip | None:
    """A OneTrip when the state and the broker are the same Redis database, else None (the
    script must see the claims, the marks and the queue together)."""
    if not isinstance(state, RedisState) or not isinstance(enqueuer, RedisEnqueuer):
        return None
    from redis.connection import parse_url

    def database(url: str) -> dict[str, Any]:
        parsed: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        return {"db": 0} | parsed

    return OneTrip(enqueuer.url) if database(state.url) == database(enqueuer.url) else None
