"""The webhook receiver's web app: `create_app(settings)`, and `app_factory` for
`uvicorn --factory bot.main:app_factory` (settings from PULLPOLICY_* variables).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.pages.health import readiness
from bot.pages.landing import add_landing_route
from bot.pages.setup import add_setup_routes
from bot.pages.status import StatusPage
from bot.webhooks.body import (
    BODY_TIMEOUT_SECONDS,
    MAX_BODY_BYTES,
    BadContentLength,
    BodyIncomplete,
    BodyTimedOut,
    BodyTooLarge,
    read_capped,
)
from bot.webhooks.enqueue import Enqueuer, enqueuer_for
from bot.webhooks.events import GITHUB, GITLAB
from bot.webhooks.pending import NOT_CONFIGURED, PendingGitHub
from bot.webhooks.receiver import Outcome, Receiver
from workers.runtime.app_credentials import ensure_private_dir
from workers.runtime.logs import LOGGER_NAME, configure_logging
from workers.runtime.metrics import DeliveryMetrics
from workers.runtime.settings import PREFIX, Settings, SettingsError, load_settings
from workers.runtime.state import State, open_state

logger = logging.getLogger(LOGGER_NAME)

INLINE_DECIDE_MAX_BYTES = 256 * 1024

INSECURE_WARNING = (
    "INSECURE: serving %s webhooks WITHOUT signature verification "
    f"({PREFIX}INSECURE_NO_WEBHOOK_SECRET is set). Anyone who can reach this server can queue "
    "scans. Use this for local development only."
)
SETUP_MODE_WARNING = (
    "no forge configured: open /setup with the token in setup-token in the data dir to "
    f"register the GitHub App (or set the {PREFIX}GITHUB_* / {PREFIX}GITLAB_* settings); "
    "webhooks answer 503 until then"
)


def create_app(
    settings: Settings,
    *,
    enqueuer: Enqueuer | None = None,
    state: State | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
) -> FastAPI:
    """The receiver, /setup and /status. Raises SettingsError when a served forge has no
    webhook secret; with no forge configured it starts in setup mode (webhooks answer 503)."""
    # Before anything puts a file there: the data dir may come to hold the App's private key.
    ensure_private_dir(settings.data_dir)
    secrets = _webhook_secrets(settings)
    owned_state = state is None
    shared_state = open_state(settings) if state is None else state
    queue = enqueuer if enqueuer is not None else enqueuer_for(settings)
    metrics = DeliveryMetrics(shared_state)

    def make_receiver(served: dict[str, bytes | None]) -> Receiver:
        spacing = settings.installation_scan_spacing_seconds
        return Receiver(served, shared_state, queue, installation_spacing=spacing, metrics=metrics)

    receiver = make_receiver(secrets)
    # Not configured for GitHub yet: /setup can configure it while the server runs.
    pending = None if GITHUB in secrets else PendingGitHub(settings.data_dir, make_receiver)
    status_page = StatusPage(settings, state=shared_state)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        status_page.close()
        if owned_state:
            shared_state.close()

    app = FastAPI(
        title="pullpolicy webhook receiver",
        # No OpenTelemetry here (metrics are Prometheus, on /metrics): without this, FastAPI asks
        # the OpenTelemetry providers on every request whether they were configured meanwhile.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    def webhook(
        forge: str, current: Callable[[], Receiver | None]
    ) -> Callable[[Request], Awaitable[Response]]:
        def refuse(status: int, detail: str, outcome: str, *, log: bool = False) -> Response:
            # Not verified: its event header is anyone's text, so it names no metric series.
            metrics.delivery(forge, None, outcome)
            if log:  # one line, never the traceback of a client that went away
                logger.warning("webhook %s", detail, extra={"forge": forge, "status": outcome})
            return JsonBytesResponse({"detail": detail}, status_code=status)

        async def receive(request: Request) -> Response:
            receiver = current()
            if receiver is None:  # never accept a delivery that cannot be verified
                return refuse(503, NOT_CONFIGURED, "not-configured")
            try:
                body = await read_capped(request, max_body_bytes, body_timeout)
            except BodyTooLarge:
                return refuse(413, "payload too large", "too-large")
            except BadContentLength:
                return refuse(400, "invalid Content-Length", "malformed")
            except BodyIncomplete:  # nobody is left to read the answer
                return refuse(400, "body incomplete: the sender went away", "incomplete", log=True)
            except BodyTimedOut:
                return refuse(408, "body not received in time", "timed-out", log=True)
            # Deciding is CPU work plus short state calls: with local state and a usual payload
            # it stays on the event loop, where it costs less than a hop to a thread (measured
            # in bench/bench_webhooks.py). State on the network (Redis) and a large payload
            # (hashing and parsing take milliseconds) go, with the queueing, to a worker thread
            # in one hop; so does a blocking broker client. With the broker and the state in one
            # Redis, one script awaited on the event loop does the Redis part (no hop).
            if receiver.admits_in_one_trip and len(body) <= INLINE_DECIDE_MAX_BYTES:
                outcome = await receiver.handle_async(forge, request.headers, body)
                return JsonBytesResponse(outcome.body, status_code=outcome.status_code)
            if receiver.decide_blocks or len(body) > INLINE_DECIDE_MAX_BYTES:
                outcome = await run_in_threadpool(receiver.handle, forge, request.headers, body)
                return JsonBytesResponse(outcome.body, status_code=outcome.status_code)
            decision = receiver.decide(forge, request.headers, body)
            if isinstance(decision, Outcome):
                outcome = decision
            elif receiver.queue_awaits:
                outcome = await receiver.queue_async(decision)
            elif receiver.queue_blocks:
                outcome = await run_in_threadpool(receiver.queue, decision)
            else:
                outcome = receiver.queue(decision)
            return JsonBytesResponse(outcome.body, status_code=outcome.status_code)

        return receive

    for forge in secrets:
        # A plain Starlette route: the endpoint reads the raw body itself, so FastAPI's
        # per-request dependency and body machinery would be pure overhead.
        app.router.add_route(f"/webhooks/{forge}", webhook(forge, lambda: receiver), ["POST"])
    if pending is not None:
        app.router.add_route(f"/webhooks/{GITHUB}", webhook(GITHUB, pending.receiver), ["POST"])
    if not secrets:  # setup mode; GitLab is configured through the environment only
        app.router.add_route(f"/webhooks/{GITLAB}", webhook(GITLAB, lambda: None), ["POST"])
    add_landing_route(app)
    add_setup_routes(app, settings, shared_state)
    status_page.add_routes(app)

    @app.get("/readyz")
    async def readyz() -> Response:
        status, body = await run_in_threadpool(readiness, settings, shared_state, queue)
        return JsonBytesResponse(body, status_code=status)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        text = await run_in_threadpool(generate_latest, metrics.registry)  # reads the state
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        served = set(secrets) | ({GITHUB} if pending is not None and pending.active else set())
        return {"status": "ok", "forges": sorted(served)}

    return app


class JsonBytesResponse(JSONResponse):
    """JSONResponse rendered by orjson: the answer to every delivery, so its cost counts."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


def _webhook_secrets(settings: Settings) -> dict[str, bytes | None]:
    """forge -> webhook secret for each forge served; None only in insecure development mode."""
    configured = {
        GITHUB: settings.github_webhook_secret,
        GITLAB: settings.gitlab_webhook_secret,
    }
    served = {
        GITHUB: any((settings.github_app_id, settings.github_private_key, configured[GITHUB])),
        GITLAB: any((settings.gitlab_url, settings.gitlab_token, configured[GITLAB])),
    }
    if not any(served.values()):
        if not settings.insecure_no_webhook_secret:
            logger.warning(SETUP_MODE_WARNING)
            return {}
        served = dict.fromkeys(served, True)  # local development: accept both
    secrets: dict[str, bytes | None] = {}
    missing: list[str] = []
    for forge, is_served in served.items():
        if not is_served:
            continue
        secret = configured[forge]
        value = secret.get_secret_value().encode() if secret is not None else b""
        secrets[forge] = value or None
        if not value:
            missing.append(forge)
    if missing and not settings.insecure_no_webhook_secret:
        variables = ", ".join(f"{PREFIX}{forge.upper()}_WEBHOOK_SECRET" for forge in missing)
        raise SettingsError(
            f"refusing to start: {variables} not set, so deliveries could not be verified "
            f"(for local development only: {PREFIX}INSECURE_NO_WEBHOOK_SECRET=1)"
        )
    if missing:
        logger.warning(INSECURE_WARNING, " and ".join(missing))
    return secrets


def app_factory() -> FastAPI:
    """The app from PULLPOLICY_* environment variables, with JSON logs."""
    configure_logging()
    return create_app(load_settings())
