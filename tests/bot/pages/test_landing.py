"""GET /: a person who opens the server's address finds setup, status and the docs."""

from __future__ import annotations

from pathlib import Path

from bot.pages.app_manifest import manifest_template
from bot.pages.landing import DOCS_URL
from tests.bot.test_app import Harness


def test_the_root_links_setup_status_and_the_docs(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    try:
        response = harness.client.get("/")
    finally:
        harness.state.close()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    for href in ('href="/setup"', 'href="/status"', f'href="{DOCS_URL}"'):
        assert href in response.text
    assert DOCS_URL.startswith(manifest_template()["url"])  # the project the App's page names
