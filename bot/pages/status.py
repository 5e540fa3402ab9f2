"""GET /status (HTML, or JSON when asked for it) and GET /status.json: is the bot configured,
how many scans wait in the queue (onboarding among them, with the rate-limit windows the
workers pace on), and what the latest scans did. Never a secret."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.pages.html import escape, link, page
from workers.runtime.activity import Activity, open_activity
from workers.runtime.app_credentials import CredentialsError, load_credentials
from workers.runtime.queue_depth import QueueDepth, queue_depth
from workers.runtime.rate_budget import NAMESPACE as RATE_BUDGETS
from workers.runtime.rate_budget import windows
from workers.runtime.settings import Settings
from workers.runtime.state import State

LATEST_SCANS = 20
# An onboarding scan's cost for the ETA: a first scan is ~11 requests on GitHub and ~27 on
# GitLab (bench/bench_api_calls.py); workers.tasks.pacing budgets 30, and so does this.
CALLS_PER_SCAN = 30
BROKERS = {"embedded": "embedded SQLite queue", "redis": "Redis broker", "other": "broker"}


class StatusPage:
    def __init__(
        self,
        settings: Settings,
        activity_factory: Callable[[Settings], Activity] = open_activity,
        state: State | None = None,
    ) -> None:
        self._settings = settings
        self._state = state  # the shared state, for the rate-limit windows
        self._activity_factory = activity_factory
        self._activity: Activity | None = None
        self._opening = threading.Lock()  # snapshots run in worker threads: open the store once

    def add_routes(self, app: FastAPI) -> None:
        app.router.add_route("/status", self.status, methods=["GET"])
        app.router.add_route("/status.json", self.status_json, methods=["GET"])

    def close(self) -> None:
        if self._activity is not None:
            self._activity.close()
            self._activity = None

    async def status(self, request: Request) -> Response:
        snapshot = await run_in_threadpool(self.snapshot)
        accept = request.headers.get("accept", "")
        if "application/json" in accept and "text/html" not in accept:
            return JSONResponse(snapshot, headers={"Cache-Control": "no-store"})
        return page("pullpolicy status", render(snapshot))

    async def status_json(self, request: Request) -> Response:
        snapshot = await run_in_threadpool(self.snapshot)
        return JSONResponse(snapshot, headers={"Cache-Control": "no-store"})

    def snapshot(self) -> dict[str, Any]:
        depth = queue_depth(self._settings)
        return {
            "github": github_status(self._settings),
            "gitlab": {"configured": gitlab_configured(self._settings)},
            "queue": {"broker": depth.broker, "waiting": depth.waiting},
            "onboarding": self._onboarding(depth),
            "scans": self._latest(),
        }

    def _onboarding(self, depth: QueueDepth) -> dict[str, Any]:
        """Initial scans waiting, the windows the workers last saw, and an ETA at that rate:
        each window refills `limit` requests an hour, a scan costs about CALLS_PER_SCAN."""
        seen = windows(self._state.numbers(RATE_BUDGETS)) if self._state is not None else {}
        per_hour = sum(budget.limit for budget in seen.values()) / CALLS_PER_SCAN
        waiting = depth.backlog
        eta = None if not waiting or not per_hour else round(waiting / per_hour * 3600)
        return {
            "waiting": waiting,
            "eta_seconds": eta,
            "windows": [
                {"forge": forge, "installation": who, **asdict(budget)}
                for (forge, who), budget in sorted(seen.items())
            ],
        }

    def _latest(self) -> list[dict[str, Any]]:
        with self._opening:
            if self._activity is None:
                self._activity = self._activity_factory(self._settings)
            activity = self._activity
        return [asdict(record) for record in activity.latest(LATEST_SCANS)]


def github_status(settings: Settings) -> dict[str, Any]:
    """Who the bot is on GitHub: the App set up through /setup, or the environment's."""
    try:
        stored = load_credentials(settings.data_dir)
    except CredentialsError as error:
        return {"configured": False, "error": str(error)}
    if stored is not None and settings.github_app_id in (None, stored.app_id):
        return {
            "configured": True,
            "source": "setup",
            "app_id": stored.app_id,
            "slug": stored.slug,
            "name": stored.name,
            "owner": stored.owner,
            "html_url": stored.html_url,
            "install_url": f"{stored.html_url.rstrip('/')}/installations/new",
        }
    if settings.github_app_configured:
        return {"configured": True, "source": "environment", "app_id": settings.github_app_id}
    return {"configured": False}


def gitlab_configured(settings: Settings) -> bool:
    return bool(settings.gitlab_url or settings.gitlab_token or settings.gitlab_webhook_secret)


def render(snapshot: dict[str, Any]) -> str:
    return (
        _configuration(snapshot)
        + _queue(snapshot["queue"])
        + _onboarding(snapshot["onboarding"])
        + _scans(snapshot["scans"])
    )


def _configuration(snapshot: dict[str, Any]) -> str:
    github = snapshot["github"]
    if github.get("source") == "setup":
        app = link(github["html_url"], github["slug"])
        install = link(github["install_url"], "install it on more repositories")
        text = (
            f'<span class="ok" id="github-configured">configured</span>: the GitHub App {app} '
            f"(id {escape(github['app_id'])}, owned by {escape(github['owner'])}); {install}"
        )
    elif github["configured"]:
        text = (
            '<span class="ok" id="github-configured">configured</span> from the environment '
            f"(App id {escape(github['app_id'])})"
        )
    elif "error" in github:
        text = f'<span class="error">unusable</span>: {escape(github["error"])}'
    else:
        text = '<span class="error">not configured</span>: <a href="/setup">set it up</a>'
    gitlab = "configured" if snapshot["gitlab"]["configured"] else "not configured"
    return (
        "<h2>Configuration</h2><table>"
        f"<tr><th>GitHub</th><td>{text}</td></tr>"
        f"<tr><th>GitLab</th><td>{gitlab}</td></tr></table>"
    )


def _queue(queue: dict[str, Any]) -> str:
    broker = BROKERS.get(queue["broker"], "broker")
    waiting = queue["waiting"]
    count = "unknown" if waiting is None else f"{waiting} scan(s) waiting"
    return f'<h2>Queue</h2><p id="queue">{escape(count)} ({escape(broker)})</p>'


def _onboarding(onboarding: dict[str, Any]) -> str:
    waiting, eta = onboarding["waiting"], onboarding["eta_seconds"]
    if waiting is None:
        text = "unknown for this broker"
    elif waiting == 0:
        text = "no initial scan waiting"
    else:
        text = f"{waiting} initial scan(s) waiting behind pushes"
        if eta is not None:
            text += f", about {max(1, round(eta / 60))} min at the rate limits below"
    rows = "".join(
        "<tr>"
        f"<td>{escape(window['forge'])}</td><td>{escape(window['installation'])}</td>"
        f"<td>{escape(window['remaining'])} of {escape(window['limit'])}</td>"
        f"<td>{escape(_utc(window['reset_at']))}</td>"
        "</tr>"
        for window in onboarding["windows"]
    )
    table = (
        '<table id="rate-limits"><tr><th>Forge</th><th>Installation</th><th>Requests left</th>'
        f"<th>Window resets (UTC)</th></tr>{rows}</table>"
        if rows
        else ""
    )
    return f'<h2>Onboarding</h2><p id="onboarding">{escape(text)}</p>{table}'


def _utc(timestamp: float) -> str:
    if not timestamp:
        return "not said"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _scans(scans: list[dict[str, Any]]) -> str:
    if not scans:
        return "<h2>Latest scans</h2><p>No scan has finished yet.</p>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(scan['finished_at'])}</td>"
        f"<td>{escape(scan['forge'])}</td>"
        f"<td>{escape(scan['repository'])}</td>"
        f"<td><code>{escape((scan['head_sha'] or '')[:12])}</code></td>"
        f"<td>{escape(scan['reason'])}</td>"
        f"<td>{_outcome(scan)}</td>"
        f"<td>{escape('' if scan['findings'] is None else scan['findings'])}</td>"
        f"<td>{_change_request(scan)}</td>"
        "</tr>"
        for scan in scans
    )
    return (
        '<h2>Latest scans</h2><table id="scans"><tr><th>Finished (UTC)</th><th>Forge</th>'
        "<th>Repository</th><th>Commit</th><th>Why</th><th>Outcome</th><th>Findings</th>"
        f"<th>Pull request</th></tr>{rows}</table>"
    )


def _outcome(scan: dict[str, Any]) -> str:
    detail = scan.get("detail")  # why the branch was left alone; absent in older records
    return escape(f"{scan['outcome']}: {detail}" if detail else scan["outcome"])


def _change_request(scan: dict[str, Any]) -> str:
    number = scan["pr_number"]
    if number is None:
        return ""
    return link(scan["pr_url"], f"#{number}") if scan["pr_url"] else escape(f"#{number}")
