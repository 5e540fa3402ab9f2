"""The few HTML pages the bot serves (/setup, /status): one layout, strict security headers.

Every value put in a page goes through `escape`: repository names, commit shas and URLs come
from webhooks and forges, so they are never trusted as markup.
"""

from __future__ import annotations

from html import escape as _escape
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
code{background:#f6f8fa;padding:0 .2rem}button{font-size:1rem;padding:.4rem 1rem}
.error{color:#cf222e}.ok{color:#1a7f37}
"""


def escape(value: object) -> str:
    return _escape(str(value), quote=True)


def safe_url(value: object) -> str | None:
    """An http(s) URL fit for an href, else None (no javascript: or data: links)."""
    text = str(value or "")
    return text if urlsplit(text).scheme in ("http", "https") else None


def link(url: object, text: object) -> str:
    href = safe_url(url)
    return f'<a href="{escape(href)}">{escape(text)}</a>' if href else escape(text)


def page(
    title: str,
    body: str,
    *,
    status_code: int = 200,
    form_action: str | None = None,
) -> HTMLResponse:
    """`body` is trusted markup built with `escape`; `form_action` is the one origin besides
    this server that a form on the page may post to (GitHub, for /setup)."""
    actions = " ".join(filter(None, ("'self'", form_action)))
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; form-action {actions}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        # The setup callback's URL holds a one-time code: never pass it on as a referrer.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · pullpolicy</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
