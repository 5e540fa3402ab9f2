"""GET /: a small page for a person who opens the server's address, pointing where to go."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.pages.html import link, page

DOCS_URL = "https://github.com/pullpolicy/pullpolicy#readme"  # bot/app.yml's `url`


def add_landing_route(app: FastAPI) -> None:
    app.router.add_route("/", landing, methods=["GET", "HEAD"])


async def landing(_: Request) -> HTMLResponse:
    body = (
        "<p>This server runs pullpolicy, which keeps Kubernetes manifests at "
        "<code>imagePullPolicy: Always</code> by opening fix pull requests. It receives "
        "webhooks from GitHub and GitLab.</p><ul>"
        '<li><a href="/setup" id="setup">Set up the GitHub App</a> (needs the setup token '
        "from the server)</li>"
        '<li><a href="/status" id="status">Status</a>: configuration, queue and recent '
        "scans</li>"
        f"<li>{link(DOCS_URL, 'Documentation')}</li></ul>"
    )
    return page("pullpolicy", body)
