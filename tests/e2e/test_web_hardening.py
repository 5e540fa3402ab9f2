"""A whole setup run against a real `pullpolicy serve` (embedded queue and worker, fake GitHub as
a process), driven over plain HTTP, then the abuse a reachable server gets: a signed body replayed
with made-up event names, a sender that drops mid-body. Afterwards every line the processes
wrote must be JSON, and none may hold the setup token, the one-time code or a traceback.
"""

from __future__ import annotations

import html
import json
import re
import socket
import stat
from pathlib import Path

import httpx

from tests.bot.setup_helpers import setup_form
from tests.e2e.harness import Bot, github_push, wait_for
from tests.e2e.test_setup_browser import REPO, api, bot, forge_url  # noqa: F401 (fixtures)

PENDING = re.compile(r'name="pending" value="([^"]+)"')


def setup_over_http(server: Bot, token: str) -> tuple[str, str]:
    """What a person does in a browser: paste the token, create the App, come back. Returns
    the page shown at the end and the one-time code GitHub sent back."""
    with httpx.Client(timeout=30) as browser:
        started = browser.post(f"{server.url}/setup", data={"token": token})
        assert started.status_code == 200, started.text
        form = setup_form(started.text)
        confirm = browser.post(form.action, data={"manifest": json.dumps(form.manifest)})
        assert confirm.status_code == 200, confirm.text
        found = PENDING.search(confirm.text)
        assert found, confirm.text
        origin = form.action.split("/settings/", 1)[0]
        created = browser.post(
            f"{origin}/settings/apps/new/confirm",
            data={"pending": html.unescape(found.group(1)), "name": form.manifest["name"]},
        )
        assert created.status_code == 302, created.text
        back = created.headers["location"]
        assert back.startswith(f"{server.url}/setup/callback?code=")
        code = httpx.URL(back).params["code"]
        configured = browser.get(back)  # with the state cookie POST /setup set
        assert configured.status_code == 200, configured.text
        return configured.text, code


def drop_mid_body(server: Bot) -> None:
    """Declare a 1000-byte body, send a few bytes, hang up."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"POST /webhooks/github HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b'X-GitHub-Event: push\r\nContent-Length: 1000\r\n\r\n{"ref": '
        )


def test_a_setup_run_and_its_abuse_leave_only_json_lines_and_no_secret(
    forge_url: str,  # noqa: F811 (the fixture)
    bot: Bot,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    # Before anyone opened /setup: the token is there, and the data dir is private.
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    token = (data_dir / "setup-token").read_text().strip()
    landing = httpx.get(f"{bot.url}/", timeout=10)
    assert landing.status_code == 200 and 'href="/setup"' in landing.text
    asked = httpx.get(f"{bot.url}/setup", params={"token": token}, timeout=10)
    assert asked.status_code == 403 and 'name="manifest"' not in asked.text  # never from a URL
    assert str(data_dir) not in asked.text

    page, code = setup_over_http(bot, token)
    assert 'id="configured"' in page and str(data_dir) not in page
    stored = json.loads((data_dir / "github-app.json").read_text())

    head = api(forge_url, f"/repos/{REPO}/branches/main")["commit"]["sha"]
    push = github_push(REPO, 1, "0" * 40, head, ["k8s/web.yaml"])
    for index in range(5):  # one genuine signed body, replayed with made-up event names
        replayed = bot.github(f"made-up-{index}", push, secret=stored["webhook_secret"])
        assert replayed.status_code == 200, replayed.text
    metrics = httpx.get(f"{bot.url}/metrics", timeout=10).text
    assert "made-up" not in metrics and 'event="other"' in metrics

    drop_mid_body(bot)
    wait_for(
        lambda: "sender went away" in bot.diagnostics(), timeout=30, what="the dropped body's line"
    )
    bot.stop()

    lines = [
        line
        for process in bot.processes
        for line in Path(process.log).read_text(errors="replace").splitlines()
    ]
    assert lines
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object, banner and access log too
        assert isinstance(entry, dict) and {"time", "level", "logger", "message"} <= set(entry)
    output = "\n".join(lines)
    assert token not in output and code not in output
    for secret in (stored["pem"], stored["webhook_secret"], stored["client_secret"]):
        assert secret not in output
    assert "Traceback" not in output and "ClientDisconnect" not in output
    assert sum("sender went away" in line for line in lines) == 1
