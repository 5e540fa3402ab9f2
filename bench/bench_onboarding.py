"""Onboarding a whole organization on a forge that runs out of requests (not a test; run it).

    .venv/bin/python bench/bench_onboarding.py [--repositories 2000] [--limit 5000]
        [--window 60] [--pushes 5] [--workers 0]

The local fake forge holds an installation of N repositories, a tenth of them with a manifest
(a Deployment without `Always`), and enforces GitHub's primary rate limit per installation token:
`--limit` requests per `--window` seconds (compressed time: GitHub's hour becomes a minute by
default). The real `pullpolicy serve` (receiver + worker on the embedded queue) gets one signed
`installation` delivery listing every repository, then, while the initial scans run, `--pushes`
pushes to repositories still waiting (one every few seconds). Printed: the time until every
repository was scanned, the requests the forge counted, the 403 answers for the rate limit, the
scans paced, and how long each push waited for its scan against how long the backlog took.
`--workers N` starts N more `pullpolicy worker` processes (two scans at a time each) on the same
embedded queue and state: they pace on the windows each of them records in the shared state.

The same run is made twice in one command: as built (pacing on the forge's headers, pushes ahead
of the backlog), then with pacing switched off (`PULLPOLICY_PACE_ON_RATE_LIMITS=false`), what a
bot that only reacts to 403s does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.harness import (  # noqa: E402
    APP_ID,
    DEPLOYMENT,
    Bot,
    github_installation,
    github_push,
    metric_sum,
    settings_env,
    wait_for,
)
from tests.fakeforge import FakeForge  # noqa: E402
from tests.fakeforge.app_keys import AppKey  # noqa: E402

INSTALLATION = 9900


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    scans: int
    counted: int
    refused: int
    paced: float
    push_waits: list[float]
    failed: int  # scans that ran out of retries


def seed(forge: FakeForge, count: int, owner: str) -> list[str]:
    names = []
    for number in range(count):
        name = f"{owner}/service-{number:04d}"
        files = {"README.md": f"# service {number}\n"}
        if number % 10 == 0:
            files["k8s/web.yaml"] = DEPLOYMENT
        forge.create_repo(name, files)
        names.append(name)
    return names


def run(label: str, forge: FakeForge, key: AppKey, args: argparse.Namespace, pacing: bool) -> Run:
    owner = f"org-{uuid.uuid4().hex[:6]}"
    installation = INSTALLATION + (0 if pacing else 1)
    names = seed(forge, args.repositories, owner)
    forge.add_installation(installation, names)
    work = Path(tempfile.mkdtemp(prefix="bench-onboarding-"))
    env = settings_env(
        github_api_url=forge.github_api_url,
        gitlab_url=forge.gitlab_url,
        private_key=key.private_pem,
        data_dir=work / "data",
        redis_url=None,
    )
    env["PULLPOLICY_PACING_SPREAD_SECONDS"] = str(max(1.0, args.window / 30))
    env["PULLPOLICY_PACE_ON_RATE_LIMITS"] = "true" if pacing else "false"
    env["PULLPOLICY_SCAN_TIME_LIMIT_SECONDS"] = "120"
    env["PULLPOLICY_SCAN_LOCK_SECONDS"] = "300"
    bot = Bot(env, work)
    forge.limit_rate(args.limit, window_seconds=args.window)
    try:
        bot.start_receiver(embedded_worker=True)
        for _ in range(args.workers):
            bot.start_worker()
        started = time.monotonic()
        response = bot.github("installation", github_installation(names, installation))
        assert response.status_code == 202, response.text
        finished: dict[str, float] = {}  # head sha -> when its finished scan was first seen
        watching = threading.Event()

        def watch() -> None:  # the status page lists the latest scans: read it often
            while not watching.is_set():
                scans = httpx.get(f"{bot.url}/status.json", timeout=10).json()["scans"]
                seen = time.time()  # 0.2 s polls: finer than the records' whole seconds
                for scan in scans:
                    finished.setdefault(scan["head_sha"], seen)
                watching.wait(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        pushed: dict[str, float] = {}  # head sha -> when the push was delivered
        targets = names[::-1][: args.pushes]  # the last repositories: surely still waiting
        total = args.repositories + len(targets)
        for name in targets:
            time.sleep(args.push_every)
            before = forge.branch_head(name, "main") or ""
            after = forge.push_commit(name, "main", {"k8s/api.yaml": DEPLOYMENT}, "add api")
            body = github_push(name, installation, before, after, ["k8s/api.yaml"])
            pushed[after] = time.time()
            assert bot.github("push", body).status_code == 202

        def all_done() -> bool:
            scanned = metric_sum(bot, "pullpolicy_scans_total") >= total
            return scanned and all(sha in finished for sha in pushed)

        try:
            wait_for(all_done, timeout=args.timeout, what=f"{label}\n{bot.diagnostics()}")
        finally:
            watching.set()
            watcher.join(timeout=10)
        waits = {sha: finished[sha] - at for sha, at in pushed.items()}
        seconds = time.monotonic() - started
        return Run(
            label,
            seconds,
            total,
            forge.rate_counted,
            forge.rate_limited,
            metric_sum(bot, "pullpolicy_scan_retries_total", reason="paced"),
            sorted(waits.values()),
            int(metric_sum(bot, "pullpolicy_scans_total", outcome="failed")),
        )
    finally:
        forge.limit_rate(None)
        bot.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=5000, help="requests per window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds (GitHub: 3600)")
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--push-every", type=float, default=3.0, help="seconds between pushes")
    parser.add_argument("--workers", type=int, default=0, help="worker processes beside serve's")
    parser.add_argument("--timeout", type=float, default=7200.0)
    args = parser.parse_args()
    key = AppKey.generate()
    with tempfile.TemporaryDirectory(prefix="bench-forge-") as root:
        forge = FakeForge(Path(root))
        forge.start()
        forge.register_app(APP_ID, key.public_pem)
        try:
            runs = [
                run("paced (this build)", forge, key, args, pacing=True),
                run("unpaced (reacts to 403s only)", forge, key, args, pacing=False),
            ]
        finally:
            forge.stop()
    print(
        f"{args.repositories} repositories (a tenth with a manifest), {args.pushes} pushes during"
        f" onboarding; the forge allows {args.limit} requests per {args.window:g} s window;"
        f" workers: serve's own + {args.workers}"
    )
    print(
        f"{'run':32} {'all scanned':>12} {'requests':>9} {'403s':>5} {'paced':>6}"
        f" {'failed':>6} {'push scanned after (median/max)':>32}"
    )
    for result in runs:
        waits = result.push_waits
        push = f"{statistics.median(waits):.1f}/{max(waits):.1f} s" if waits else "-"
        print(
            f"{result.label:32} {result.seconds:>10.0f} s {result.counted:>9} {result.refused:>5}"
            f" {result.paced:>6.0f} {result.failed:>6} {push:>32}"
        )
    print(json.dumps([result.__dict__ for result in runs]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
