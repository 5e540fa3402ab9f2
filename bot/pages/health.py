"""Readiness: can this web process do its job right now? (Liveness is /healthz: it answers.)

Each check names what failed by the exception's type only: messages can hold broker or Redis
URLs with credentials.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.webhooks.enqueue import Enqueuer
from workers.runtime.settings import Settings
from workers.runtime.state import State

READY = "ready"
NOT_READY = "not ready"
PROBE = "readyz"


def readiness(
    settings: Settings, state: State, enqueuer: Enqueuer
) -> tuple[int, dict[str, object]]:
    """(HTTP status, body): 200 when every check passes, else 503 with the failing checks."""
    checks: dict[str, Callable[[], object]] = {
        "settings": settings.github_private_key_pem,  # a key path that became unreadable
        "state": lambda: state.is_marked(PROBE, PROBE),  # a read through the real connection
        "broker": enqueuer.ping,
    }
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:
            results[name] = f"failed: {type(error).__name__}"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return (200 if ready else 503), {"status": READY if ready else NOT_READY, "checks": results}
