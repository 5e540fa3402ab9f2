"""Hostile repository content against a real `pullpolicy serve` (embedded queue, one worker
slot): no input may hold the slot, so the repository queued next is always scanned.

Before, a `.pullpolicy.yml` glob of repeated `**/` kept the worker busy forever (exponential
backtracking) and the scan queued behind it never ran.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.harness import DEPLOYMENT, Bot, github_push, settings_env, wait_for
from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey
from workers.config.model import MAX_PATTERN_CHARS
from workers.scan.run import CONFIG_INVALID_TITLE

pytestmark = pytest.mark.e2e

TIME_LIMIT = 5  # seconds; the harness's repository lock lasts 20
DEEP_PATH = "/".join(f"d{i}" for i in range(30)) + "/web.yaml"
_installations = itertools.count(9100)


@pytest.fixture(scope="module")
def bot(
    forge: FakeForge, app_key: AppKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    env = settings_env(
        github_api_url=forge.github_api_url,
        gitlab_url=forge.gitlab_url,
        private_key=app_key.private_pem,
        data_dir=tmp_path_factory.mktemp("data"),
        redis_url=None,  # the embedded queue: `serve` runs one worker slot beside the receiver
    )
    env["PULLPOLICY_SCAN_TIME_LIMIT_SECONDS"] = str(TIME_LIMIT)
    env["PULLPOLICY_SCAN_TIME_LIMIT_GRACE_SECONDS"] = "2"
    running = Bot(env, tmp_path_factory.mktemp("logs"))
    try:
        running.start_receiver(embedded_worker=True)
        yield running
    finally:
        running.stop()


@dataclass
class Repo:
    name: str
    forge: FakeForge
    bot: Bot
    installation: int

    def push(self, files: dict[str, str]) -> None:
        before = self.forge.branch_head(self.name, "main") or ""
        after = self.forge.push_commit(self.name, "main", dict(files), "change files")
        body = github_push(self.name, self.installation, before, after, list(files))
        response = self.bot.github("push", body)
        assert response.status_code in (200, 202), response.text

    def open_requests(self) -> list[Any]:
        return [r for r in self.forge.change_requests(self.name) if r.state == "open"]

    def failed_config_check(self) -> list[dict[str, Any]]:
        return [
            run
            for run in self.forge.check_runs(self.name)
            if run.get("conclusion") == "failure"
            and str(run.get("output", {}).get("title", "")).startswith(CONFIG_INVALID_TITLE)
        ]


def new_repo(forge: FakeForge, bot: Bot) -> Repo:
    name = f"hostile-{uuid.uuid4().hex[:8]}/deploys"
    forge.create_repo(name, {"README.md": "# deploys\n"})
    installation = next(_installations)
    forge.add_installation(installation, [name])
    return Repo(name, forge, bot, installation)


def within(bot: Bot, seconds: float, what: str, predicate: Any) -> Any:
    try:
        return wait_for(predicate, timeout=seconds, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{bot.diagnostics()}") from None


def test_hostile_config_is_a_config_error_and_the_next_repository_is_scanned(
    forge: FakeForge, bot: Bot
) -> None:
    hostile, deep, after = new_repo(forge, bot), new_repo(forge, bot), new_repo(forge, bot)
    too_long = "**/" * MAX_PATTERN_CHARS
    hostile.push({".pullpolicy.yml": f'paths:\n  include: ["{too_long}"]\n', DEEP_PATH: DEPLOYMENT})
    # Within the caps, the pattern that used to backtrack for ever: now a normal scan.
    deep.push({".pullpolicy.yml": f'paths:\n  include: ["{"**/" * 14}*.yaml"]\n'})
    deep.push({DEEP_PATH: DEPLOYMENT})
    after.push({"k8s/web.yaml": DEPLOYMENT})
    # One worker slot, scans in queue order: each must end well within the time limit.
    within(bot, 60, "the hostile config's failed check run", hostile.failed_config_check)
    within(bot, 60, "the deep repository's PR", deep.open_requests)
    within(bot, 60, "the next repository's PR", after.open_requests)
    assert hostile.open_requests() == []
    assert '"scan timed out"' not in bot.processes[0].output()


def test_a_scan_past_its_time_limit_stops_and_the_next_repository_is_scanned(
    forge: FakeForge, bot: Bot
) -> None:
    slow, after = new_repo(forge, bot), new_repo(forge, bot)
    forge.slow_next(1, TIME_LIMIT + 5)  # the slow scan's first forge request outlasts the limit
    slow.push({"k8s/web.yaml": DEPLOYMENT})
    after.push({"k8s/web.yaml": DEPLOYMENT})
    receiver = bot.processes[0]
    logged = '"scan timed out"'
    within(bot, 60, "the timed-out scan's log line", lambda: logged in receiver.output())
    within(bot, 60, "the next repository's PR", after.open_requests)
    assert slow.open_requests() == []  # stopped, and not retried into the same wall
