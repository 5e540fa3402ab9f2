"""Vendored payloads and signed deliveries for the receiver's tests."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from bot.webhooks.verify import github_signature

PAYLOADS = Path(__file__).parent / "payloads"
GITHUB_SECRET = "gh-webhook-secret-4f1c9a"
GITLAB_SECRET = "gl-webhook-token-8b2e7d"


def payload(forge: str, name: str) -> dict[str, Any]:
    """A fresh (mutable) copy of a vendored payload, e.g. payload("github", "push.4")."""
    loaded: dict[str, Any] = json.loads((PAYLOADS / forge / f"{name}.json").read_text("utf-8"))
    return copy.deepcopy(loaded)


def vendored(forge: str) -> list[str]:
    return sorted(path.stem for path in (PAYLOADS / forge).glob("*.json"))


def github_event(name: str) -> str:
    """The X-GitHub-Event of a vendored file: its name up to the first dot."""
    return name.split(".")[0]


GITLAB_EVENTS = {
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "merge_request": "Merge Request Hook",
}


def github_headers(
    event: str, body: bytes, *, delivery: str | None = None, secret: str = GITHUB_SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(secret.encode(), body),
    }


def gitlab_headers(
    event: str, *, delivery: str | None = None, token: str = GITLAB_SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
        "X-Gitlab-Token": token,
    }


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode("utf-8")


def commit(*paths: str) -> dict[str, Any]:
    """A push payload commit entry that modified `paths`."""
    return {"id": uuid.uuid4().hex, "added": [], "modified": list(paths), "removed": []}
