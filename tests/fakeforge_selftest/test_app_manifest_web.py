"""The fake GitHub's manifest flow and install pages, as GitHub documents them: the manifest is
checked, "Create GitHub App" redirects with a one-time code, the conversion hands over a key
that authenticates as the new App, and installing it redirects to the App's setup_url."""

from __future__ import annotations

import http.client
import json
import re
import time
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from tests.fakeforge import FakeForge

REPO = "acme/deploys"
MANIFEST: dict[str, Any] = {
    "name": "My Bot",
    "url": "https://example.com",
    "hook_attributes": {"url": "https://bot.example.com/webhooks/github"},
    "redirect_url": "https://bot.example.com/setup/callback",
    "setup_url": "https://bot.example.com/status?from=github",
    "public": False,
    "default_events": ["push", "pull_request"],
    "default_permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
}


def request(
    forge: FakeForge,
    method: str,
    path: str,
    form: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request that does not follow redirects."""
    parts = urlsplit(forge.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    body = urlencode(form or {}, doseq=True).encode() if form is not None else None
    all_headers = dict(headers or {})
    if body is not None:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def create(forge: FakeForge, path: str, manifest: dict[str, Any], name: str) -> str:
    """Post the manifest, confirm it: the redirect's Location."""
    status, _, page = request(forge, "POST", path, {"manifest": json.dumps(manifest)})
    assert status == 200, page
    found = re.search(r'name="pending" value="([^"]+)"', page)
    assert found, page
    status, headers, page = request(
        forge,
        "POST",
        "/settings/apps/new/confirm",
        {"pending": unescape(found.group(1)), "name": name},
    )
    assert status == 302, page
    return headers["Location"]


def convert(forge: FakeForge, code: str) -> tuple[int, Any]:
    status, _, body = request(forge, "POST", f"/api/v3/app-manifests/{code}/conversions")
    return status, json.loads(body)


def as_app(forge: FakeForge, app_id: int, pem: str, method: str, path: str) -> tuple[int, Any]:
    now = int(time.time())
    token = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(app_id)}, pem, "RS256")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    status, _, body = request(forge, method, f"/api/v3{path}", headers=headers)
    return status, json.loads(body)


def test_manifest_flow_creates_an_app_whose_key_works(fake_forge: FakeForge) -> None:
    location = create(fake_forge, "/settings/apps/new?state=s-123", MANIFEST, "My Bot")
    target = urlsplit(location)
    assert location.startswith("https://bot.example.com/setup/callback?")
    query = parse_qs(target.query)
    assert query["state"] == ["s-123"]
    code = query["code"][0]
    status, app = convert(fake_forge, code)
    assert status == 201
    assert app["slug"] == "my-bot" and app["owner"]["login"] == "octo-admin"
    assert app["html_url"] == f"{fake_forge.url}/apps/my-bot"
    assert app["events"] == ["push", "pull_request"]
    assert app["webhook_secret"] and app["client_secret"] and app["client_id"]
    status, same = as_app(fake_forge, app["id"], app["pem"], "GET", "/app")
    assert status == 200 and same["slug"] == "my-bot"
    assert convert(fake_forge, code)[0] == 404  # a code works once


def test_expired_codes_and_unknown_codes_are_404(fake_forge: FakeForge) -> None:
    location = create(fake_forge, "/settings/apps/new", MANIFEST, "Late Bot")
    assert "state=" not in location  # none was given
    code = parse_qs(urlsplit(location).query)["code"][0]
    fake_forge.expire_manifest_codes()
    assert convert(fake_forge, code)[0] == 404
    assert convert(fake_forge, "0" * 40)[0] == 404


def test_organization_variant_is_owned_by_the_organization(fake_forge: FakeForge) -> None:
    location = create(fake_forge, "/organizations/acme/settings/apps/new?state=x", MANIFEST, "Org")
    code = parse_qs(urlsplit(location).query)["code"][0]
    app = convert(fake_forge, code)[1]
    assert app["owner"]["login"] == "acme" and app["owner"]["type"] == "Organization"


def test_github_refuses_what_it_refuses(fake_forge: FakeForge) -> None:
    for events, problem in (
        (["push", "installation"], "Default events unsupported: installation"),
        (["check_run"], "Default events are not supported by permissions: check_run"),
    ):
        manifest = {**MANIFEST, "default_events": events}
        status, _, page = request(
            fake_forge, "POST", "/settings/apps/new", {"manifest": json.dumps(manifest)}
        )
        assert status == 422 and problem in page
    create(fake_forge, "/settings/apps/new", MANIFEST, "Taken")
    status, _, page = request(
        fake_forge, "POST", "/settings/apps/new", {"manifest": json.dumps(MANIFEST)}
    )
    pending = re.search(r'name="pending" value="([^"]+)"', page)
    assert pending
    status, _, page = request(
        fake_forge,
        "POST",
        "/settings/apps/new/confirm",
        {"pending": pending.group(1), "name": "taken"},
    )
    assert status == 422 and "Name is already in use" in page


def test_installing_redirects_to_setup_url_and_the_app_can_act(fake_forge: FakeForge) -> None:
    fake_forge.create_repo(REPO, {"README.md": "hi\n"})
    fake_forge.create_repo("acme/other", {"README.md": "hi\n"})
    app, _ = fake_forge.create_manifest_app(MANIFEST)
    status, _, page = request(fake_forge, "GET", f"/apps/{app.slug}/installations/new")
    assert status == 200 and REPO in page and "acme/other" in page
    status, headers, _ = request(
        fake_forge, "POST", f"/apps/{app.slug}/installations/new", {"repository": [REPO]}
    )
    assert status == 302
    location = urlsplit(headers["Location"])
    assert location.path == "/status"
    query = parse_qs(location.query)
    assert query["from"] == ["github"] and query["setup_action"] == ["install"]
    installation = int(query["installation_id"][0])
    assert fake_forge.installations_of(app.id) == {installation: (REPO,)}
    status, found = as_app(fake_forge, app.id, app.pem, "GET", f"/repos/{REPO}/installation")
    assert status == 200 and found["id"] == installation
    status, _ = as_app(fake_forge, app.id, app.pem, "GET", "/repos/acme/other/installation")
    assert status == 404
