"""GitHub Apps registered through the manifest flow: pending manifests, created Apps with a real
RSA key pair (JWTs signed with the handed-out pem verify against the fake API), and the
one-time codes `POST /app-manifests/{code}/conversions` redeems.

As GitHub does: a code works once and expires an hour after the App was created; `installation`
and `installation_repositories` cannot be listed in `default_events`; each event needs the
permission that covers it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.fakeforge.app_keys import AppKey
from tests.fakeforge.records import utc_now

CODE_LIFETIME = timedelta(hours=1)
WEB_USER = "octo-admin"  # the person signed in to the fake GitHub's web pages
# Always delivered to Apps, refused in a manifest's default_events.
AUTOMATIC_EVENTS = ("installation", "installation_repositories")
EVENT_PERMISSIONS = {
    "push": ("contents",),
    "create": ("contents",),
    "delete": ("contents",),
    "release": ("contents",),
    "pull_request": ("pull_requests",),
    "pull_request_review": ("pull_requests",),
    "check_run": ("checks",),
    "check_suite": ("checks",),
    "issues": ("issues",),
    "issue_comment": ("issues", "pull_requests"),
    "status": ("statuses",),
}
PERMISSION_LEVELS = ("read", "write", "admin")


@dataclass
class PendingManifest:
    """A manifest posted to /settings/apps/new, waiting for "Create GitHub App"."""

    manifest: dict[str, Any]
    owner: str
    owner_type: str  # "User" | "Organization"
    state: str | None


@dataclass
class CreatedApp:
    id: int
    slug: str
    name: str
    owner: str
    owner_type: str
    manifest: dict[str, Any]
    pem: str  # PKCS#1, as GitHub hands it out
    public_pem: bytes
    webhook_secret: str
    client_id: str
    client_secret: str
    created_at: datetime = field(default_factory=utc_now)

    @property
    def permissions(self) -> dict[str, str]:
        return {"metadata": "read", **dict(self.manifest.get("default_permissions") or {})}

    @property
    def events(self) -> list[str]:
        return list(self.manifest.get("default_events") or [])


@dataclass
class Conversion:
    app_id: int
    expires_at: datetime
    used: bool = False


@dataclass
class ManifestRegistry:
    pending: dict[str, PendingManifest] = field(default_factory=dict)
    apps: dict[int, CreatedApp] = field(default_factory=dict)
    codes: dict[str, Conversion] = field(default_factory=dict)

    def hold(self, pending: PendingManifest) -> str:
        token = secrets.token_hex(16)
        self.pending[token] = pending
        return token

    def by_slug(self, slug: str) -> CreatedApp | None:
        return next((app for app in self.apps.values() if app.slug == slug), None)

    def create(self, app_id: int, pending: PendingManifest, name: str) -> tuple[CreatedApp, str]:
        """The new App and its one-time conversion code. ValueError: the name is taken."""
        slug = slugify(name)
        if not slug or self.by_slug(slug) is not None:
            raise ValueError("Name is already in use")
        key = AppKey.generate(pkcs1=True)  # GitHub hands out "BEGIN RSA PRIVATE KEY"
        pem, public = key.private_pem, key.public_pem
        app = CreatedApp(
            id=app_id,
            slug=slug,
            name=name,
            owner=pending.owner,
            owner_type=pending.owner_type,
            manifest=pending.manifest,
            pem=pem,
            public_pem=public,
            webhook_secret=secrets.token_hex(20),
            client_id=f"Iv23li{secrets.token_hex(7)}",
            client_secret=secrets.token_hex(20),
        )
        self.apps[app_id] = app
        code = secrets.token_hex(20)
        self.codes[code] = Conversion(app_id, utc_now() + CODE_LIFETIME)
        return app, code

    def redeem(self, code: str) -> CreatedApp | None:
        """The App for a code that is known, unused and unexpired; the code is spent."""
        conversion = self.codes.get(code)
        if conversion is None or conversion.used or conversion.expires_at <= utc_now():
            return None
        conversion.used = True
        return self.apps[conversion.app_id]

    def expire_codes(self) -> None:
        for conversion in self.codes.values():
            conversion.expires_at = utc_now() - timedelta(seconds=1)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def manifest_problems(manifest: Any) -> list[str]:
    """What GitHub would refuse in a manifest, in its words where known."""
    if not isinstance(manifest, dict):
        return ["Manifest is not a JSON object"]
    problems: list[str] = []
    if not isinstance(manifest.get("url"), str) or not manifest["url"]:
        problems.append("Url can't be blank")
    hook = manifest.get("hook_attributes")
    if hook is not None and (not isinstance(hook, dict) or not hook.get("url")):
        problems.append("Hook url can't be blank")
    permissions = manifest.get("default_permissions") or {}
    if not isinstance(permissions, dict):
        return [*problems, "Default permissions must be an object"]
    for name, level in permissions.items():
        if level not in PERMISSION_LEVELS:
            problems.append(f"Default permission {name} has an invalid level {level!r}")
    events = manifest.get("default_events") or []
    unsupported = [e for e in events if e in AUTOMATIC_EVENTS or e not in EVENT_PERMISSIONS]
    if unsupported:
        problems.append(f"Default events unsupported: {' and '.join(unsupported)}")
    uncovered = [
        event
        for event in events
        if event in EVENT_PERMISSIONS
        and not any(permissions.get(p) in PERMISSION_LEVELS for p in EVENT_PERMISSIONS[event])
    ]
    if uncovered:
        problems.append(f"Default events are not supported by permissions: {', '.join(uncovered)}")
    return problems
