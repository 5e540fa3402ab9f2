"""Driving /setup without a browser: the bot under TestClient, GitHub played by the fake forge."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2  # what Starlette's TestClient returns
from fastapi.testclient import TestClient

from bot.main import create_app
from bot.webhooks.enqueue import InMemoryEnqueuer
from tests.fakeforge import FakeForge
from tests.fakeforge.app_manifests import CreatedApp
from workers.runtime.app_credentials import setup_token
from workers.runtime.settings import Settings
from workers.runtime.state import SqliteState

FORM = re.compile(
    r'<form method="post" action="([^"]+)"><input type="hidden" name="manifest" '
    r'value="([^"]+)">'
)


@dataclass(frozen=True)
class SetupForm:
    action: str
    manifest: dict[str, Any]

    @property
    def state(self) -> str:
        return parse_qs(urlsplit(self.action).query)["state"][0]


def setup_form(page: str) -> SetupForm:
    found = FORM.search(page)
    assert found, page
    action, manifest = (html.unescape(group) for group in found.groups())
    return SetupForm(action, json.loads(manifest))


class SetupBot:
    """The receiver in setup mode (nothing configured), talking to the fake forge's API."""

    def __init__(self, forge: FakeForge, data_dir: Path, **settings: Any) -> None:
        values: dict[str, Any] = {
            "github_api_url": forge.github_api_url,
            "data_dir": data_dir,
            "installation_scan_spacing_seconds": 0,
        }
        values.update(settings)
        self.settings = Settings(**values)
        self.forge = forge
        self.enqueuer = InMemoryEnqueuer()
        self.state = SqliteState(data_dir.parent / "receiver-state.sqlite")
        self.app = create_app(self.settings, enqueuer=self.enqueuer, state=self.state)
        self.client = TestClient(self.app)
        self._created = 0

    def page(self, **fields: str) -> httpx2.Response:
        """POST /setup with the token from the data dir, as its operator would paste it."""
        token = setup_token(self.settings.data_dir)
        response: httpx2.Response = self.client.post("/setup", data={"token": token, **fields})
        return response

    def start(self, **fields: str) -> SetupForm:
        response = self.page(**fields)
        assert response.status_code == 200, response.text
        return setup_form(response.text)

    def create_on_github(self, form: SetupForm) -> tuple[CreatedApp, str]:
        """What a person confirming on GitHub causes: the App and its code (App names are
        unique on GitHub: later ones get a number)."""
        self._created += 1
        name = form.manifest["name"] + ("" if self._created == 1 else f"-{self._created}")
        return self.forge.create_manifest_app({**form.manifest, "name": name})

    def callback(self, code: str, state: str) -> httpx2.Response:
        response: httpx2.Response = self.client.get(
            "/setup/callback", params={"code": code, "state": state}
        )
        return response

    def close(self) -> None:
        self.client.close()
        self.state.close()
