"""The webhook receiver's web app: `create_app(settings)`, and `app_factory` for
`uvicorn --factory bot.main:app_factory` (settings from PULLPOLICY_* variables).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.body import MAX_BODY_BYTES, BadContentLength, BodyTooLarge, read_capped
from bot.enqueue import CeleryEnqueuer, Enqueuer
from bot.events import GITHUB, GITLAB
from bot.receiver import Outcome, Receiver
from workers.logs import LOGGER_NAME, configure_logging
from workers.settings import PREFIX, Settings, SettingsError, load_settings
from workers.state import State, open_state

logger = logging.getLogger(LOGGER_NAME)

INLINE_DECIDE_MAX_BYTES = 256 * 1024

INSECURE_WARNING = (
    "INSECURE: serving %s webhooks WITHOUT signature verification "
    f"({PREFIX}INSECURE_NO_WEBHOOK_SECRET is set). Anyone who can reach this server can queue "
    "scans. Use this for local development only."
)


def create_app(
    settings: Settings,
    *,
    enqueuer: Enqueuer | None = None,
    state: State | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The receiver. Raises SettingsError when a served forge has no webhook secret."""
    secrets = _webhook_secrets(settings)
    owned_state = state is None
    shared_state = open_state(settings) if state is None else state
    receiver = Receiver(
        secrets,
        shared_state,
        enqueuer if enqueuer is not None else CeleryEnqueuer.from_settings(settings),
        installation_spacing=settings.installation_scan_spacing_seconds,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned_state:
            shared_state.close()

    app = FastAPI(
        title="pullpolicy webhook receiver",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    def webhook(forge: str) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
            try:
                body = await read_capped(request, max_body_bytes)
            except BodyTooLarge:
                return JSONResponse({"detail": "payload too large"}, status_code=413)
            except BadContentLength:
                return JSONResponse({"detail": "invalid Content-Length"}, status_code=400)
            # Deciding is CPU work plus short, timeout-bounded state calls: for a usual payload
            # it stays on the event loop, where it costs less than a hop to a thread (measured
            # in bench/bench_webhooks.py). A large payload (hashing and parsing take
            # milliseconds) and a blocking broker client go to a worker thread.
            if len(body) > INLINE_DECIDE_MAX_BYTES:
                decision = await run_in_threadpool(receiver.decide, forge, request.headers, body)
            else:
                decision = receiver.decide(forge, request.headers, body)
            if isinstance(decision, Outcome):
                outcome = decision
            elif receiver.queue_blocks:
                outcome = await run_in_threadpool(receiver.queue, decision)
            else:
                outcome = receiver.queue(decision)
            return JSONResponse(outcome.body, status_code=outcome.status_code)

        return receive

    for forge in secrets:
        # A plain Starlette route: the endpoint reads the raw body itself, so FastAPI's
        # per-request dependency and body machinery would be pure overhead.
        app.router.add_route(f"/webhooks/{forge}", webhook(forge), methods=["POST"])

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "forges": sorted(secrets)}

    return app


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
            raise SettingsError(
                "no forge configured: set PULLPOLICY_GITHUB_WEBHOOK_SECRET (with the GitHub App "
                "settings) and/or PULLPOLICY_GITLAB_WEBHOOK_SECRET (with the GitLab settings)"
            )
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
