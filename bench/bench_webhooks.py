"""Webhook receiver load benchmark (not a test): the real `pullpolicy serve` next to its peer.

Starts, on 127.0.0.1, each server as its own process:
- `pullpolicy serve --no-worker` as an operator runs it (access log, JSON logs, real dedupe and
  enqueue): with the embedded queue (default settings), and with Redis as broker and state when
  Redis answers on REDIS_URL or 127.0.0.1:6379 (the worker is left out: the queue only grows,
  and its length is checked against the deliveries answered 2xx);
- a bare Starlette endpoint (reads the body, answers 202), the Python stack's floor;
- `bot.main.create_app` with a no-op enqueuer and no access log, labelled so: the receiver's
  own cost, without the queue;
- with Redis and Node: Probot 14 doing the same durable work (HMAC check, parse, one JSON log
  line, `await queue.add` into BullMQ 6 with the delivery id as job id), Probot with a no-op
  handler, and a bare node:http endpoint (bench/peer/; `npm ci` installs it there on first use).

One asyncio load generator (a minimal keep-alive HTTP/1.1 client, far cheaper than the servers
it drives) sends signed GitHub push deliveries (tests/bot/payloads/github/push.4.json), each
with a fresh delivery id so none is short-cut as a duplicate:

- max throughput: CONCURRENCY requests in flight for --seconds after a warm-up, in --rounds
  rounds that alternate between the servers (this machine's load drifts; alternating keeps the
  comparison fair); the ratio is the median of the per-round ratios to the bare endpoint;
- latency: an open-loop schedule of RATE deliveries/s for --latency-seconds, each latency
  measured from its scheduled send time (so a stalled server cannot hide its queue).

    .venv/bin/python bench/bench_webhooks.py [--quick]

`--profile` instead profiles `pullpolicy serve` in Redis mode under the same load (cProfile on
its event loop thread, in a child process run as `serve` runs uvicorn) and prints where its time
goes, by area: the remaining gap to the peer, explained.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from bot.webhooks.receiver import DELIVERIES  # noqa: E402
from bot.webhooks.verify import github_signature  # noqa: E402
from workers.jobs import SCAN_QUEUE, ScanJob  # noqa: E402
from workers.runtime.state import REDIS_PREFIX  # noqa: E402

SECRET = "bench-webhook-secret"
PAYLOAD = REPOSITORY / "tests" / "bot" / "payloads" / "github" / "push.4.json"
CONCURRENCY = 32
RATE = 200.0  # deliveries per second for the latency run
EMBEDDED_TARGET_PER_SECOND = 1000.0  # issue 10: the embedded queue's throughput
P99_TARGET_MS = 50.0
PEER = Path(__file__).parent / "peer"  # Probot + BullMQ; `npm ci` installs it on first use
PEER_QUEUE = "bench-peer"
MAX_REQUESTS = 50_000  # bound on any one run, whatever the speed


# --- the apps uvicorn serves (`--factory bench_webhooks:<name>`) ----------------------------


class NoOpEnqueuer:
    blocking = False

    def enqueue(self, job: ScanJob, countdown: float = 0.0) -> None:
        return None

    def ping(self) -> None:
        return None


def receiver_app() -> object:
    from bot.main import create_app
    from workers.runtime.logs import configure_logging
    from workers.runtime.settings import load_settings

    configure_logging()
    return create_app(load_settings(), enqueuer=NoOpEnqueuer())


def bare_app() -> object:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def accept(request: Request) -> Response:
        await request.body()
        return Response(status_code=202)

    return Starlette(routes=[Route("/webhooks/github", accept, methods=["POST"])])


# --- server processes ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# uvicorn's HTTP stacks: what `pullpolicy serve` runs (httptools + uvloop, installed with the
# package), and the pure-Python one uvicorn falls back to without them. The same fixed cost per
# request sits in both servers of a run, so the ratio depends on the stack: both are reported.
STACKS = {
    "httptools+uvloop": ["--http", "httptools", "--loop", "uvloop"],
    "h11+asyncio": ["--http", "h11", "--loop", "asyncio"],
}


def uvicorn_command(factory: str, stack: list[str]) -> Callable[[int], list[str]]:
    """One of this file's apps under uvicorn, without an access log."""
    return lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"bench_webhooks:{factory}",
        "--app-dir",
        str(Path(__file__).parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        *stack,
    ]


def serve_command(port: int) -> list[str]:
    """The real thing, as an operator runs it: `pullpolicy serve` (its own uvicorn settings,
    access log, JSON logs), the worker left out so the queue only grows and is counted."""
    serve = [sys.executable, "-m", "workers.cli", "serve"]
    return [*serve, "--host", "127.0.0.1", "--port", str(port), "--no-worker"]


class Server:
    def __init__(
        self, command: Callable[[int], list[str]], environment: dict[str, str], log: Path
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            command(self.port),
            cwd=REPOSITORY,
            env=environment | {"PORT": str(self.port)},
            stdout=self._log,
            stderr=self._log,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                httpx.get(f"{self.url}/healthz", timeout=0.5)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self._log.close()


# --- load ---------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    throughputs: list[float] = field(default_factory=list)
    cpu_per_delivery_us: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    unexpected: Counter[int] = field(default_factory=Counter)
    accepted: int = 0  # 202 answers, warm-ups included
    queued: int | None = None  # jobs in the broker at the end (None: a no-op enqueuer)


class Deliveries:
    """Signed push deliveries: one body and signature, a fresh delivery id each."""

    def __init__(self) -> None:
        self.body = PAYLOAD.read_bytes()
        self.signature = github_signature(SECRET.encode(), self.body)

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": self.signature,
        }


Send = Callable[[], Awaitable[int]]


class Connection:
    """One keep-alive HTTP/1.1 connection: a minimal client, so the load generator costs far
    less CPU than the servers it measures (httpx's own overhead flattened the comparison)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "transfer-encoding":
                chunked = "chunked" in value.lower()  # node answers an empty end() so
        if chunked:
            await self._skip_chunks()
        elif length:
            await self.reader.readexactly(length)
        return int(lines[0].split(" ", 2)[1])

    async def _skip_chunks(self) -> None:
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await self.reader.readexactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                return

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Idle connections to one server; opens another when all are busy."""

    def __init__(self, port: int, deliveries: Deliveries) -> None:
        self.port = port
        self.deliveries = deliveries
        self.idle: list[Connection] = []
        self.opened: list[Connection] = []
        self.sent = 0
        self.unexpected: Counter[int] = Counter()  # status -> count; 0: connection error

    def request(self) -> bytes:
        headers = "".join(
            f"{name}: {value}\r\n" for name, value in self.deliveries.headers().items()
        )
        return (
            f"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{headers}"
            f"Content-Length: {len(self.deliveries.body)}\r\n\r\n"
        ).encode("latin-1") + self.deliveries.body

    async def send(self) -> int:
        self.sent += 1
        request = self.request()
        status = 0
        # A reused connection may have been closed by the server's keep-alive timeout while
        # idle: like any HTTP client, retry once on a fresh connection.
        for reuse in (bool(self.idle), False):
            connection = self.idle.pop() if reuse else await self._open()
            try:
                status = await connection.post(request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                connection.close()
                continue
            self.idle.append(connection)
            break
        if not 200 <= status < 300:
            self.unexpected[status] += 1  # 0: the connection failed
        return status

    async def _open(self) -> Connection:
        connection = await Connection.open(self.port)
        self.opened.append(connection)
        return connection

    def close(self) -> None:
        for connection in self.opened:
            connection.close()


async def max_throughput(send: Send, seconds: float, warmup: float) -> tuple[float, int]:
    counts = {"done": 0, "errors": 0}
    measuring = asyncio.Event()
    stop_at = time.monotonic() + warmup + seconds

    async def worker() -> None:
        while time.monotonic() < stop_at and counts["done"] < MAX_REQUESTS:
            status = await send()
            if measuring.is_set():
                counts["done"] += 1
                counts["errors"] += not 200 <= status < 300

    workers = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
    await asyncio.sleep(warmup)
    measuring.set()
    started = time.monotonic()
    await asyncio.gather(*workers)
    return counts["done"] / (time.monotonic() - started), counts["errors"]


async def fixed_rate(send: Send, rate: float, seconds: float) -> tuple[list[float], int]:
    total = min(int(rate * seconds), MAX_REQUESTS)
    latencies: list[float] = []
    errors = 0
    start = time.monotonic() + 0.1

    async def one(scheduled: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
        status = await send()
        latencies.append(time.monotonic() - scheduled)
        errors += not 200 <= status < 300

    await asyncio.gather(*(one(start + n / rate) for n in range(total)))
    return latencies, errors


async def throughput_of(port: int, seconds: float) -> tuple[float, int, Pool]:
    """Deliveries/s, errors, and the pool (deliveries sent, unexpected answers)."""
    pool = Pool(port, Deliveries())
    try:
        throughput, errors = await max_throughput(pool.send, seconds, warmup=min(1.0, seconds / 3))
        return throughput, errors, pool
    finally:
        pool.close()


async def latency_of(port: int, seconds: float) -> tuple[float, float, int, Pool]:
    pool = Pool(port, Deliveries())
    # The generator's own garbage collection must not pause it mid-schedule: a full collection
    # of what the throughput runs left behind takes tens of milliseconds, which would show up
    # as the server's p99. A 10 s run allocates little; collect before, not during.
    gc.collect()
    gc.disable()
    try:
        latencies, errors = await fixed_rate(pool.send, RATE, seconds)
    finally:
        gc.enable()
        pool.close()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000, errors, pool


def _redis_url() -> str | None:
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return url if client.ping() else None
    except redis.RedisError:
        return None
    finally:
        client.close()


@dataclass(frozen=True)
class Variant:
    name: str
    command: Callable[[int], list[str]]
    environment: dict[str, str] = field(default_factory=dict)
    queued: Callable[[Path], int] | None = None  # jobs in its broker at the end
    baseline: bool = False  # a bare endpoint: the rows after it are compared with it


def _embedded_queued(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "queue.sqlite") as connection:
        return int(connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def _redis_queued(url: str) -> Callable[[Path], int]:
    def count(_: Path) -> int:
        import redis

        client = redis.Redis.from_url(url)
        try:
            return int(client.llen(SCAN_QUEUE))
        finally:
            client.close()

    return count


def node_command(script: str) -> Callable[[int], list[str]]:
    return lambda port: ["node", str(PEER / script)]


def _peer_ready() -> bool:
    """Node and the peer's packages (installed into bench/peer/node_modules, not committed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("no node/npm: the Probot rows are left out")
        return False
    if not (PEER / "node_modules").is_dir():
        command = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(command, cwd=PEER, check=True)
    return True


def _bullmq_queued(url: str) -> Callable[[Path], int]:
    def count(_: Path) -> int:
        import redis

        client = redis.Redis.from_url(url)
        try:
            return int(client.llen(f"bull:{PEER_QUEUE}:wait"))
        finally:
            client.close()

    return count


def _variants(stack: list[str], redis_url: str | None) -> list[Variant]:
    variants = [
        Variant("Starlette bare 202", uvicorn_command("bare_app", stack)),
        Variant("serve, embedded queue", serve_command, queued=_embedded_queued),
    ]
    if redis_url:
        broker = {"PULLPOLICY_BROKER_URL": redis_url, "PULLPOLICY_REDIS_URL": redis_url}
        variants.append(
            Variant("serve, Redis broker+state", serve_command, broker, _redis_queued(redis_url))
        )
    variants.append(Variant("no-op enqueue, no access log", uvicorn_command("receiver_app", stack)))
    if redis_url and _peer_ready():
        peer = {"SECRET": SECRET, "REDIS_URL": redis_url, "LOG_FORMAT": "json"}
        variants += [
            Variant("node bare 202", node_command("bare.mjs"), baseline=True),
            Variant("Probot + BullMQ", node_command("probot.mjs"), peer, _bullmq_queued(redis_url)),
            Variant("Probot, no-op handler", node_command("probot.mjs"), peer | {"NOOP": "1"}),
        ]
    return variants


def _clear_redis_queue(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:  # the bench's own jobs and 8-day dedupe claims (one per delivery sent)
        client.delete(SCAN_QUEUE)
        for pattern in (f"bull:{PEER_QUEUE}:*", f"{REDIS_PREFIX}claim:{DELIVERIES}:*"):
            batch: list[bytes] = []
            for key in client.scan_iter(pattern, count=1000):
                batch.append(key)
                if len(batch) == 1000:
                    client.delete(*batch)
                    batch.clear()
            if batch:
                client.delete(*batch)
    finally:
        client.close()


def run(
    seconds: float, rounds: int, latency_seconds: float, stack: list[str], only: str | None = None
) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as scratch:
        base = {
            key: value for key, value in os.environ.items() if not key.startswith("PULLPOLICY_")
        }
        base |= {
            "PULLPOLICY_GITHUB_APP_ID": "1",
            "PULLPOLICY_GITHUB_WEBHOOK_SECRET": SECRET,
        }
        redis_url = _redis_url()
        if redis_url:
            _clear_redis_queue(redis_url)
        variants = [
            variant
            for number, variant in enumerate(_variants(stack, redis_url))
            if not number or only is None or only in variant.name
        ]
        servers: list[Server] = []
        data_dirs = [Path(scratch) / f"data-{number}" for number in range(len(variants))]
        try:
            for number, variant in enumerate(variants):
                where = {"PULLPOLICY_DATA_DIR": str(data_dirs[number])}
                log = Path(scratch) / f"server-{number}.log"
                environment = base | where | variant.environment
                servers.append(Server(variant.command, environment, log))
            for server in servers:
                server.wait_ready()
            results = _measure_all(variants, servers, seconds, rounds, latency_seconds)
            for result, variant, data_dir in zip(results, variants, data_dirs, strict=True):
                if variant.queued is not None:
                    result.queued = variant.queued(data_dir)
            return results
        finally:
            for server in servers:
                server.stop()
            if redis_url:
                _clear_redis_queue(redis_url)


def _measure_all(
    variants: list[Variant],
    servers: list[Server],
    seconds: float,
    rounds: int,
    latency_seconds: float,
) -> list[Result]:
    results = [Result(variant.name) for variant in variants]
    baselines: list[int] = []  # each row's bare endpoint: the first row, or the last baseline
    for number, variant in enumerate(variants):
        baselines.append(number if variant.baseline or not number else baselines[-1])
    for _ in range(rounds):
        for result, server in zip(results, servers, strict=True):
            cpu_before = server.cpu_seconds()
            throughput, errors, pool = asyncio.run(throughput_of(server.port, seconds))
            cpu = server.cpu_seconds() - cpu_before
            result.throughputs.append(throughput)
            result.cpu_per_delivery_us.append(cpu / pool.sent * 1e6)
            result.errors += errors
            result.unexpected += pool.unexpected
            result.accepted += pool.sent - sum(pool.unexpected.values())
        for result, baseline in zip(results, baselines, strict=True):
            result.ratios.append(result.throughputs[-1] / results[baseline].throughputs[-1])
    for result, server in zip(results, servers, strict=True):
        time.sleep(0.5)  # let the previous server's backlog drain
        result.p50_ms, result.p99_ms, errors, pool = asyncio.run(
            latency_of(server.port, latency_seconds)
        )
        result.errors += errors
        result.unexpected += pool.unexpected
        result.accepted += pool.sent - sum(pool.unexpected.values())
    return results


def report(results: list[Result], rounds: int, seconds: float) -> None:
    print(
        f"{'server':<30}{'deliveries/s':>13}{'vs bare':>9}{'CPU µs/delivery':>17}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'queued/2xx':>15}"
    )
    for result in results:
        queued = "-" if result.queued is None else f"{result.queued}/{result.accepted}"
        print(
            f"{result.name:<30}{statistics.median(result.throughputs):>13.0f}"
            f"{statistics.median(result.ratios):>9.2f}"
            f"{statistics.median(result.cpu_per_delivery_us):>17.0f}"
            f"{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}{result.errors:>8}{queued:>15}"
        )
    print(
        f"deliveries/s: median of {rounds} rounds of {seconds:g} s with {CONCURRENCY} in flight; "
        "vs bare: median of the per-round ratios to the bare endpoint of the same stack "
        "(Starlette for Python, node:http for node). CPU µs/delivery: the server process's own "
        "CPU time per delivery in the throughput runs (median; Redis's own CPU not included), "
        f"which neighbours on a shared machine do not skew. p50/p99 at {RATE:.0f} deliveries/s, "
        "open loop, from each delivery's scheduled send time. queued/2xx: jobs in the broker "
        "at the end / deliveries answered 2xx (every accepted delivery must be there)."
    )
    _verdicts({result.name: result for result in results})
    for result in results:
        if result.unexpected:
            answers = ", ".join(
                f"{count} x {'connection error' if status == 0 else status}"
                for status, count in sorted(result.unexpected.items())
            )
            print(f"unexpected answers from {result.name.strip()}: {answers} (warm-ups included)")


def _verdicts(by_name: dict[str, Result]) -> None:
    """Issue 10's goals, each with what this run measured."""

    def verdict(met: bool) -> str:
        return "MET" if met else "NOT MET"

    embedded = by_name.get("serve, embedded queue")
    if embedded is not None:
        rate = statistics.median(embedded.throughputs)
        print(
            f"goal embedded >= {EMBEDDED_TARGET_PER_SECOND:.0f}/s: {rate:.0f}/s, "
            f"{verdict(rate >= EMBEDDED_TARGET_PER_SECOND)}; p99 < {P99_TARGET_MS:.0f} ms: "
            f"{embedded.p99_ms:.1f} ms, {verdict(embedded.p99_ms < P99_TARGET_MS)}"
        )
    redis_row, peer = by_name.get("serve, Redis broker+state"), by_name.get("Probot + BullMQ")
    if redis_row is not None and peer is not None:
        ours = statistics.median(redis_row.cpu_per_delivery_us)
        theirs = statistics.median(peer.cpu_per_delivery_us)
        print(
            f"goal Redis CPU/delivery <= Probot + BullMQ's: {ours:.0f} vs {theirs:.0f} µs "
            f"({ours / theirs:.2f}x), {verdict(ours <= theirs)}; throughput "
            f"{statistics.median(redis_row.throughputs) / statistics.median(peer.throughputs):.2f}x"
            " Probot + BullMQ's"
        )


# --- where `serve`'s time goes (--profile) --------------------------------------------------

PROFILE_START, PROFILE_STOP = signal.SIGUSR1, signal.SIGUSR2

# (area, what a function's file path or name contains), first match wins. A function of none
# (a builtin, a stdlib helper such as uuid or copy) counts in its callers' areas.
AREAS = [
    ("redis-py client", ("/redis/",)),
    ("JSON logs (logging, our formatter)", ("/logging/", "workers/runtime/logs.py")),
    ("uvicorn (HTTP parsing, response, access log call)", ("/uvicorn/", "httptools")),
    ("Starlette + FastAPI (middleware, routing)", ("/starlette/", "/fastapi/", "/anyio/")),
    ("asyncio (tasks, timeouts, streams)", ("/asyncio/",)),
    ("orjson (parse, dumps)", ("orjson",)),
    ("HMAC (hashlib)", ("hmac", "_hashlib", "_operator.", "compare_digest")),
    ("receiver: decide, Celery message (ours)", ("/bot/", "/workers/")),
]
Function = tuple[str, int, str]


def _area(function: Function) -> str | None:
    where = f"{function[0]}:{function[2]}"
    return next((label for label, keys in AREAS if any(key in where for key in keys)), None)


def _shares(entries: dict[Function, Any], function: Function, depth: int = 0) -> Counter[str]:
    """Where `function`'s own time goes: its area, else its callers' (by their share of the
    calls' time), up to a few levels; "other" beyond."""
    own = entries[function][2]
    area = _area(function)
    callers = entries[function][4]
    if area is not None or depth >= 4 or not callers:
        return Counter({area or "other": own})
    spent = sum(timing[2] for timing in callers.values()) or 1.0
    shares: Counter[str] = Counter()
    for caller, timing in callers.items():
        if caller not in entries:
            shares["other"] += own * timing[2] / spent
            continue
        upward = _shares(entries, caller, depth + 1)
        caller_own = sum(upward.values()) or 1.0
        for label, seconds in upward.items():
            shares[label] += own * timing[2] / spent * seconds / caller_own
    return shares


def profile_child(port: int, output: str) -> None:
    """`serve`'s uvicorn in this process, profiled between PROFILE_START and PROFILE_STOP."""
    import uvicorn
    import uvloop

    from workers.runtime.logs import configure_process_logging

    configure_process_logging()  # as `pullpolicy serve` (workers/cli/service.py)
    config = uvicorn.Config(
        "bot.main:app_factory", factory=True, host="127.0.0.1", port=port, log_config=None
    )
    server = uvicorn.Server(config)
    profiler = cProfile.Profile()

    def stop() -> None:
        profiler.disable()
        profiler.dump_stats(output)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(PROFILE_START, profiler.enable)
        loop.add_signal_handler(PROFILE_STOP, stop)
        await server.serve()

    uvloop.run(serve())


def profile(seconds: float) -> None:
    redis_url = _redis_url()
    if redis_url is None:
        raise SystemExit("--profile needs Redis (REDIS_URL or 127.0.0.1:6379)")
    _clear_redis_queue(redis_url)
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-profile-") as scratch:
        output = str(Path(scratch) / "serve.prof")
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("PULLPOLICY_")
        } | {
            "PULLPOLICY_GITHUB_APP_ID": "1",
            "PULLPOLICY_GITHUB_WEBHOOK_SECRET": SECRET,
            "PULLPOLICY_BROKER_URL": redis_url,
            "PULLPOLICY_REDIS_URL": redis_url,
            "PULLPOLICY_DATA_DIR": str(Path(scratch) / "data"),
        }

        def command(port: int) -> list[str]:
            return [sys.executable, __file__, "--profile-child", str(port), output]

        server = Server(command, environment, Path(scratch) / "server.log")
        try:
            server.wait_ready()

            async def load() -> int:
                pool = Pool(server.port, Deliveries())
                try:
                    warmed = asyncio.create_task(max_throughput(pool.send, seconds + 1, 0.0))
                    await asyncio.sleep(1.0)
                    sent_before = pool.sent
                    server.process.send_signal(PROFILE_START)
                    await asyncio.sleep(seconds)
                    server.process.send_signal(PROFILE_STOP)
                    sent = pool.sent - sent_before
                    await warmed
                    return sent
                finally:
                    pool.close()

            deliveries = asyncio.run(load())
            deadline = time.monotonic() + 10
            while not Path(output).exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # the dump is written in one go; let it finish
            report_profile(pstats.Stats(output), deliveries)
        finally:
            server.stop()
            _clear_redis_queue(redis_url)


def report_profile(stats: pstats.Stats, deliveries: int) -> None:
    entries = stats.stats  # type: ignore[attr-defined]
    by_area: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for (filename, line, name), (_, _, own, _, _) in entries.items():
        by_area.update(_shares(entries, (filename, line, name)))
        short = f"{'/'.join(Path(filename).parts[-2:])}:{line}({name})" if line else name
        functions[short] += own
    total = sum(by_area.values())
    print(
        f"pullpolicy serve, Redis broker+state, profiled (cProfile, event loop thread): "
        f"{deliveries} deliveries sent in the window, {total / deliveries * 1e6:.0f} µs of "
        "profiled time each (cProfile inflates Python calls; read the shares)"
    )
    print(f"{'area':<52}{'share':>7}")
    for area, seconds in by_area.most_common():
        print(f"{area:<52}{seconds / total:>7.0%}")
    print("top functions by own time:")
    for name, seconds in functions.most_common(12):
        print(f"  {seconds / total:>5.1%}  {name}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--profile-child":
        profile_child(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=4.0, help="max-throughput window")
    parser.add_argument("--rounds", type=int, default=3, help="alternating throughput rounds")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="fixed-rate run")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", help="the rows whose name contains this (and the first)")
    parser.add_argument(
        "--profile", action="store_true", help="profile serve in Redis mode instead (see above)"
    )
    parser.add_argument(
        "--stack",
        choices=[*STACKS, "both"],
        default="httptools+uvloop",
        help="uvicorn HTTP stack(s) of the bare and no-op rows (serve runs its own)",
    )
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seconds, arguments.rounds, arguments.latency_seconds = 1.5, 1, 3.0
    if arguments.profile:
        profile(arguments.seconds)
        return
    stacks = list(STACKS) if arguments.stack == "both" else [arguments.stack]
    for number, stack in enumerate(stacks):
        print(("\n" if number else "") + f"uvicorn stack: {stack}")
        load_before = os.getloadavg()[0]
        results = run(
            arguments.seconds,
            arguments.rounds,
            arguments.latency_seconds,
            STACKS[stack],
            arguments.only,
        )
        report(results, arguments.rounds, arguments.seconds)
        # Noise: the machine's other jobs (the load generator itself adds about 1).
        print(
            f"machine: {os.cpu_count()} CPUs, 1-minute load average {load_before:.1f} before "
            f"the run, {os.getloadavg()[0]:.1f} after"
        )


if __name__ == "__main__":
    main()
