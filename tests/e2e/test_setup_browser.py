"""Setup without copy-paste, in a real browser: Debian's headless chromium opens /setup of a real
`pullpolicy serve` (embedded queue, nothing configured), creates the GitHub App on the fake
GitHub (a separate process) and comes back configured. Then, without a restart, the stored
credentials do their job: the App is installed, a push signed with the stored webhook secret
opens the fix PR, and /status lists that scan and PR.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.harness import DEPLOYMENT, Bot, Process, github_push, wait_for

pytestmark = pytest.mark.e2e

REPO = "acme/deploys"
READER_TOKEN = "e2e-reader-token"


def _unavailable(reason: str) -> None:
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _unavailable("Debian's chromium and chromium-driver are not installed")
    assert chromium is not None and driver_path is not None
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def forge_url(tmp_path: Path) -> Iterator[str]:
    """`python -m tests.fakeforge` as a process, seeded with one repository needing a fix."""
    seed = tmp_path / "seed"
    (seed / "k8s").mkdir(parents=True)
    (seed / "k8s" / "web.yaml").write_text(DEPLOYMENT)
    command = [
        sys.executable,
        "-m",
        "tests.fakeforge",
        "--port",
        "0",
        "--root",
        str(tmp_path / "forge"),
        "--seed",
        f"{REPO}={seed}",
        "--token",
        READER_TOKEN,
    ]
    process = Process("fakeforge", command, dict(os.environ), tmp_path / "fakeforge.log").start()
    try:
        first = wait_for(
            lambda: process.output().splitlines()[:1], timeout=30, what="the fake forge's URL"
        )
        url = first[0].strip()
        assert url.startswith("http://127.0.0.1:"), process.output()
        yield url
    finally:
        process.stop()


@pytest.fixture
def bot(forge_url: str, tmp_path: Path) -> Iterator[Bot]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULLPOLICY_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PULLPOLICY_DATA_DIR": str(tmp_path / "data"),
            "PULLPOLICY_GITHUB_API_URL": f"{forge_url}/api/v3",
            "PULLPOLICY_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
            "PULLPOLICY_GITHUB_SECONDS_BETWEEN_WRITES": "0",
            "PULLPOLICY_SCAN_LOCK_SECONDS": "10",
            "PULLPOLICY_SCAN_TIME_LIMIT_SECONDS": "6",
            "PULLPOLICY_SCAN_TIME_LIMIT_GRACE_SECONDS": "2",
            "PULLPOLICY_BUSY_RETRY_SECONDS": "1",
        }
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Bot(env, logs)
    try:
        running.start_receiver(embedded_worker=True)  # nothing configured: setup mode
        yield running
    finally:
        running.stop()


def api(forge_url: str, path: str) -> Any:
    response = httpx.get(
        f"{forge_url}/api/v3{path}", headers={"Authorization": f"token {READER_TOKEN}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def test_setup_in_a_browser_then_a_push_opens_the_pr_without_a_restart(
    browser: webdriver.Chrome, forge_url: str, bot: Bot, tmp_path: Path
) -> None:
    wait = WebDriverWait(browser, 60)
    head = api(forge_url, f"/repos/{REPO}/branches/main")["commit"]["sha"]
    push = github_push(REPO, 1, "0" * 40, head, ["k8s/web.yaml"])
    refused = bot.github("push", push, secret="anything")
    assert refused.status_code == 503, refused.text
    assert refused.json() == {"detail": "not configured: open /setup"}

    # /setup asks for the token from the server's data dir, as its operator would paste it.
    browser.get(f"{bot.url}/setup")
    token = (tmp_path / "data" / "setup-token").read_text().strip()
    browser.find_element(By.NAME, "token").send_keys(token)
    browser.find_element(By.ID, "use-token").click()
    wait.until(lambda driver: driver.find_elements(By.ID, "create-app"))
    # -> "Create GitHub App" -> GitHub's confirmation -> back on the bot, configured.
    browser.find_element(By.ID, "create-app").click()
    wait.until(lambda driver: driver.find_elements(By.ID, "create"))
    assert browser.current_url.startswith(f"{forge_url}/settings/apps/new")
    assert "Create GitHub App" in browser.page_source
    browser.find_element(By.ID, "create").click()
    wait.until(lambda driver: driver.find_elements(By.ID, "configured"))
    assert browser.current_url.startswith(f"{bot.url}/setup/callback?code=")
    configured = browser.find_element(By.ID, "configured").text
    assert configured.startswith("pullpolicy is configured as the GitHub App pullpolicy (id ")

    data_dir = tmp_path / "data"
    stored_file = data_dir / "github-app.json"
    assert stat.S_IMODE(stored_file.stat().st_mode) == 0o600
    assert not (data_dir / "setup-token").exists()  # spent
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    stored = json.loads(stored_file.read_text())
    for secret in (stored["pem"], stored["webhook_secret"], stored["client_secret"]):
        assert secret not in browser.page_source

    # Install the new App on the seeded repository; GitHub sends the browser to /status.
    browser.find_element(By.LINK_TEXT, "install it").click()
    wait.until(lambda driver: driver.find_elements(By.ID, "install"))
    browser.find_element(By.CSS_SELECTOR, f"input[value='{REPO}']").click()
    browser.find_element(By.ID, "install").click()
    wait.until(lambda driver: driver.find_elements(By.ID, "github-configured"))
    landed = urlsplit(browser.current_url)
    assert landed.path == "/status"
    installation = int(parse_qs(landed.query)["installation_id"][0])

    # The receiver verifies with the stored secret, the running worker signs with the stored key.
    push = github_push(REPO, installation, "0" * 40, head, ["k8s/web.yaml"])
    assert bot.github("push", push, secret="not-the-secret").status_code == 401
    accepted = bot.github("push", push, secret=stored["webhook_secret"])
    assert accepted.status_code == 202, accepted.text

    def open_pulls() -> list[Any]:
        pulls: list[Any] = api(forge_url, f"/repos/{REPO}/pulls?state=open")
        return pulls

    try:
        (pull,) = wait_for(open_pulls, timeout=120, what="the fix PR")
        scans = wait_for(
            lambda: httpx.get(f"{bot.url}/status.json", timeout=10).json()["scans"],
            timeout=30,
            what="the scan on /status",
        )
    except AssertionError as error:
        raise AssertionError(f"{error}\n{bot.diagnostics()}") from None
    assert scans[0]["repository"] == REPO
    assert scans[0]["head_sha"] == head
    assert (scans[0]["outcome"], scans[0]["pr_number"]) == ("opened", pull["number"])
    assert scans[0]["pr_url"] == pull["html_url"]

    browser.get(f"{bot.url}/status")
    table = browser.find_element(By.ID, "scans").text
    assert REPO in table and head[:12] in table and "opened" in table
    link = browser.find_element(By.LINK_TEXT, f"#{pull['number']}")
    assert link.get_attribute("href") == pull["html_url"]
    browser.save_screenshot(str(tmp_path / "status.png"))

    # The whole run's logs (access log included): no secret, and not the setup token either.
    output = "\n".join(process.output() for process in bot.processes)
    for secret in (stored["pem"], stored["webhook_secret"], stored["client_secret"], token):
        assert secret not in output
