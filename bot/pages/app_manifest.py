"""The GitHub App manifest of bot/app.yml, completed with the URLs of this server."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

MANIFEST_FILE = Path(__file__).parent.parent / "app.yml"  # bot/app.yml, shipped as package data
WEBHOOK_PATH = "/webhooks/github"
CALLBACK_PATH = "/setup/callback"
STATUS_PATH = "/status"


@functools.cache
def manifest_template() -> dict[str, Any]:
    # Our own file, read once and only by /setup: the receiver never parses delivered YAML.
    import yaml

    loaded = yaml.safe_load(MANIFEST_FILE.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{MANIFEST_FILE.name} is not a mapping")
    return loaded


def manifest_for(public_url: str) -> dict[str, Any]:
    """app.yml with this server's webhook, redirect and post-installation URLs."""
    base = public_url.rstrip("/")
    manifest = copy.deepcopy(manifest_template())
    hook = manifest.get("hook_attributes") or {}
    manifest["hook_attributes"] = {**hook, "url": base + WEBHOOK_PATH}
    manifest["redirect_url"] = base + CALLBACK_PATH
    manifest["setup_url"] = base + STATUS_PATH
    return manifest
