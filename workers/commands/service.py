"""`pullpolicy serve | worker | scan`: run the bot, or scan one repository once."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict

from workers import scan
from workers.celery_app import QUEUE, make_celery
from workers.forge.factory import open_forge
from workers.jobs import ScanJob
from workers.logs import WORKER_LOGGER_NAME, configure_logging
from workers.settings import load_settings


def run_worker(concurrency: int, loglevel: str) -> int:
    """A Celery worker consuming scans from the configured (or embedded) broker."""
    configure_logging(name=WORKER_LOGGER_NAME)
    app = make_celery(load_settings())
    argv = ["worker", f"--loglevel={loglevel}", "-Q", QUEUE, f"--concurrency={concurrency}"]
    app.worker_main(argv)
    return 0


def run_serve(host: str, port: int, *, with_worker: bool | None) -> int:
    """The webhook receiver; with the embedded queue (no broker URL) also a worker beside it,
    so one command runs everything."""
    import uvicorn  # the web server is only needed by this command

    settings = load_settings()  # fail fast on bad settings, before anything starts
    start_worker = settings.embedded_queue if with_worker is None else with_worker
    worker = None
    if start_worker:
        command = [sys.executable, "-m", "workers.cli", "worker", "--concurrency", "1"]
        worker = subprocess.Popen(command)
    try:
        uvicorn.run("bot.main:app_factory", factory=True, host=host, port=port)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
    return 0


def run_scan_once(forge_name: str, repo: str, *, dry_run: bool) -> int:
    """Scan one repository now, without a queue: prints the outcome as JSON-ish lines."""
    settings = load_settings()
    forge = open_forge(settings, forge_name)
    job = ScanJob(forge=forge_name, repo=repo, reason="manual")
    outcome = scan.run(forge, job, dry_run=dry_run)
    for key, value in asdict(outcome).items():
        print(f"{key}: {value}")
    return 1 if outcome.findings else 0
