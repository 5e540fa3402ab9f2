"""Real processes for end-to-end tests: the receiver (uvicorn) and Celery workers, started as
`pullpolicy serve` / `pullpolicy worker` with PULLPOLICY_* settings pointing at the local forge.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.webhooks.verify import github_signature
from tests.bot.helpers import payload

REPO_ROOT = Path(__file__).resolve().parents[2]
GITHUB_SECRET = "e2e-github-webhook-secret"
GITLAB_SECRET = "e2e-gitlab-webhook-token"
GITLAB_TOKEN = "glpat-e2e-bot-token"
APP_ID = 4242
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.2
"""
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], T], *, timeout: float = 90.0, what: str = "condition") -> T:
    """Poll until `predicate` returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        handle = self.log.open("ab")
        # A session of its own: killing the group reaches Celery's pool children too.
        self.popen = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        handle.close()
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crashing machine would: no cleanup, no acknowledgement."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


@dataclass
class Bot:
    """The receiver and its workers, all real processes sharing one set of settings."""

    env: dict[str, str]
    logs: Path
    port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_receiver(self, *, embedded_worker: bool = False) -> Process:
        flag = "--with-worker" if embedded_worker else "--no-worker"
        command = [sys.executable, "-m", "workers.cli", "serve", "--port", str(self.port), flag]
        process = self._start("receiver", command)
        wait_for(self._healthy, timeout=60, what=f"the receiver on {self.url}\n{process.output()}")
        if embedded_worker:
            wait_for(lambda: " ready." in process.output(), timeout=90, what="the embedded worker")
        return process

    def start_worker(self) -> Process:
        command = [sys.executable, "-m", "workers.cli", "worker", "--concurrency", "2"]
        process = self._start(f"worker-{len(self.processes)}", command)
        try:
            wait_for(lambda: " ready." in process.output(), timeout=90, what=f"{process.name}")
        except AssertionError as error:  # say what the worker printed instead
            raise AssertionError(f"{error} ready:\n{process.output()[-4000:]}") from None
        return process

    def _start(self, name: str, command: list[str]) -> Process:
        process = Process(name, command, self.env, self.logs / f"{name}.log").start()
        self.processes.append(process)
        return process

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def scanned_heads(self, repository: str) -> set[str]:
        """Commits of `repository` whose scan a worker has finished (the status page's record,
        written once the scan's writes are done)."""
        scans = httpx.get(f"{self.url}/status.json", timeout=5).json()["scans"]
        return {scan["head_sha"] for scan in scans if scan["repository"] == repository}

    def diagnostics(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-4000:]}" for p in self.processes)

    # --- deliveries --------------------------------------------------------------------------

    def github(
        self,
        event: str,
        body: Mapping[str, Any],
        *,
        delivery: str | None = None,
        secret: str = GITHUB_SECRET,
    ) -> httpx.Response:
        data = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": github_signature(secret.encode(), data),
        }
        return httpx.post(f"{self.url}/webhooks/github", content=data, headers=headers, timeout=10)

    def gitlab(
        self,
        event: str,
        body: Mapping[str, Any],
        *,
        delivery: str | None = None,
        token: str = GITLAB_SECRET,
    ) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            "X-Gitlab-Event": event,
            "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
            "X-Gitlab-Token": token,
        }
        data = json.dumps(body).encode()
        return httpx.post(f"{self.url}/webhooks/gitlab", content=data, headers=headers, timeout=10)


def settings_env(
    *,
    github_api_url: str,
    gitlab_url: str,
    private_key: str,
    data_dir: Path,
    redis_url: str | None,
) -> dict[str, str]:
    """The environment of every bot process: inherited minus PULLPOLICY_*, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULLPOLICY_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PULLPOLICY_DATA_DIR": str(data_dir),
            "PULLPOLICY_GITHUB_API_URL": github_api_url,
            "PULLPOLICY_GITHUB_APP_ID": str(APP_ID),
            "PULLPOLICY_GITHUB_PRIVATE_KEY": private_key,
            "PULLPOLICY_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
            "PULLPOLICY_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
            "PULLPOLICY_GITHUB_SECONDS_BETWEEN_WRITES": "0",
            "PULLPOLICY_GITLAB_URL": gitlab_url,
            "PULLPOLICY_GITLAB_TOKEN": GITLAB_TOKEN,
            "PULLPOLICY_GITLAB_WEBHOOK_SECRET": GITLAB_SECRET,
            # A killed worker's lock frees after 20 s; a scan (slowed to ~12 s by some tests) is
            # stopped after 14 + 3: the lock must outlive the longest scan (settings check).
            "PULLPOLICY_SCAN_LOCK_SECONDS": "20",
            "PULLPOLICY_SCAN_TIME_LIMIT_SECONDS": "14",
            "PULLPOLICY_SCAN_TIME_LIMIT_GRACE_SECONDS": "3",
            "PULLPOLICY_BUSY_RETRY_SECONDS": "1",
            "PULLPOLICY_INSTALLATION_SCAN_SPACING_SECONDS": "0",
        }
    )
    if redis_url:
        env["PULLPOLICY_BROKER_URL"] = redis_url
        env["PULLPOLICY_REDIS_URL"] = redis_url
    return env


# --- payloads ---------------------------------------------------------------------------------


def github_push(
    repo: str, installation: int, before: str, after: str, touched: list[str]
) -> dict[str, Any]:
    body = copy.deepcopy(payload("github", "push.0"))
    body.update(
        {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "deleted": False,
            "forced": False,
            "commits": [{"id": after, "added": touched, "modified": [], "removed": []}],
            "installation": {"id": installation},
        }
    )
    body["repository"] = {
        **body["repository"],
        "full_name": repo,
        "default_branch": "main",
        "name": repo.split("/")[1],
    }
    return body


def gitlab_push(repo: str, before: str, after: str, touched: list[str]) -> dict[str, Any]:
    body = copy.deepcopy(payload("gitlab", "push"))
    body.update(
        {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "checkout_sha": after,
            "commits": [{"id": after, "added": touched, "modified": [], "removed": []}],
            "total_commits_count": 1,
        }
    )
    body["project"] = {**body["project"], "path_with_namespace": repo, "default_branch": "main"}
    return body


def github_installation(names: list[str], installation: int) -> dict[str, Any]:
    """An `installation` `created` delivery that lists `names` (an App installed on them)."""
    body = copy.deepcopy(payload("github", "installation.1"))
    template = body["repositories"][0]
    body["installation"] = {**body["installation"], "id": installation}
    body["repositories"] = [
        dict(template, id=index, full_name=name, name=name.split("/")[1])
        for index, name in enumerate(names)
    ]
    return body


def metric_sum(bot: Bot, name: str, **labels: str) -> float:
    """The sum of the samples of `name` on the bot's /metrics whose labels include `labels`."""
    text = httpx.get(f"{bot.url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
