"""At-least-once per broker, with real processes: SIGKILL the worker in the middle of a scan,
start again, and exactly one PR is there at the end (the redelivered scan finished the work).

Redis has its own in test_bot.py (test_worker_killed_mid_scan_is_redelivered).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.harness import DEPLOYMENT, wait_for
from tests.e2e.rabbitmq_service import rabbitmq_url
from tests.e2e.test_bot import Repo, bot_of_its_own, wait_single_pr
from tests.e2e.test_serve_lifecycle import children, running
from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey

pytestmark = pytest.mark.e2e


def push_and_wait_for_the_scan_to_start(repo: Repo) -> None:
    seen = len(repo.forge.requests)
    repo.forge.slow_next(6, 2.0)  # the scan now takes over ten seconds
    repo.push({"k8s/web.yaml": DEPLOYMENT})
    wait_for(lambda: len(repo.forge.requests) > seen, what="the scan to start")
    time.sleep(1)


def assert_one_pr_at_the_end(repo: Repo) -> None:
    wait_single_pr(repo, what="the redelivered scan's PR")
    time.sleep(3)  # give a duplicate the chance to appear
    assert len(repo.requests()) == 1


def test_embedded_serve_killed_mid_scan_and_restarted(
    forge: FakeForge, app_key: AppKey, tmp_path: Path
) -> None:
    with bot_of_its_own(forge, app_key, tmp_path, redis_url=None) as repo:
        push_and_wait_for_the_scan_to_start(repo)
        (serve,) = repo.bot.processes
        serve.kill()  # serve, its worker and the worker's pool: the whole group, SIGKILL
        repo.bot.start_receiver(embedded_worker=True)  # same data dir, same queue file
        assert_one_pr_at_the_end(repo)


def test_embedded_worker_killed_mid_scan_while_serve_runs_on(
    forge: FakeForge, app_key: AppKey, tmp_path: Path
) -> None:
    with bot_of_its_own(forge, app_key, tmp_path, redis_url=None) as repo:
        push_and_wait_for_the_scan_to_start(repo)
        (serve,) = repo.bot.processes
        assert serve.popen is not None
        worker_pids = children(serve.popen.pid)
        for pid in worker_pids:  # the embedded worker; its pool dies with it
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not any(running(pid) for pid in worker_pids), what="the worker to die")
        repo.bot.start_worker()  # a new worker on the same queue file
        assert_one_pr_at_the_end(repo)


def test_rabbitmq_worker_killed_mid_scan(
    forge: FakeForge, app_key: AppKey, redis_url: str, tmp_path: Path
) -> None:
    broker = rabbitmq_url()
    with bot_of_its_own(forge, app_key, tmp_path, redis_url=redis_url, broker_url=broker) as repo:
        push_and_wait_for_the_scan_to_start(repo)
        for worker in [p for p in repo.bot.processes if p.name.startswith("worker")]:
            worker.kill()
        repo.bot.start_worker()
        assert_one_pr_at_the_end(repo)
