"""`pullpolicy serve | worker | scan`: run the bot, scan one repository once, or queue the first
scans of a whole GitLab group."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
from dataclasses import asdict
from types import FrameType

from workers.cli.errors import ForgeFailed, UserError
from workers.forge.base import ForgeError, GroupForge, NotFound, PermissionDenied, RateLimited
from workers.forge.factory import open_forge
from workers.jobs import ONBOARDING, ScanJob
from workers.runtime.logs import WORKER_LOGGER_NAME, configure_process_logging, write_json_line
from workers.runtime.settings import load_settings
from workers.scan import run as scan
from workers.tasks.celery_app import QUEUES, make_celery

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def run_worker(concurrency: int, loglevel: str) -> int:
    """A Celery worker consuming scans from the configured (or embedded) broker."""
    level = logging.getLevelNamesMapping().get(loglevel.upper(), logging.INFO)
    configure_process_logging(level)
    _json_celery_logging()
    app = make_celery(load_settings())
    # --quiet: no banner (a block of plain text); this line says what it would have.
    logging.getLogger(WORKER_LOGGER_NAME).info(
        "worker starting: queues %s, concurrency %d", QUEUES, concurrency
    )
    app.worker_main(
        [
            "--quiet",
            "worker",
            f"--loglevel={loglevel}",
            "-Q",
            QUEUES,
            f"--concurrency={concurrency}",
        ]
    )
    return 0


def _json_celery_logging() -> None:
    """Celery keeps the JSON logging of `configure_process_logging` (a `setup_logging`
    receiver tells it logging is configured), and its shutdown notices, which it prints straight
    to the terminal from a signal handler, become JSON lines too."""
    from celery import signals
    from celery.apps import worker

    signals.setup_logging.connect(_logging_is_configured, weak=False)
    setattr(worker, "safe_say", _say_as_json)  # noqa: B010 (an untyped module's function)


def _logging_is_configured(**_: object) -> None:
    return None


def _say_as_json(message: str, *_: object) -> None:
    write_json_line(message, "celery.worker")


def _forge_problem(error: ForgeError) -> str:
    if isinstance(error, NotFound):
        return "not found, or the token cannot see it"
    if isinstance(error, PermissionDenied):
        return "the token may not do this"
    if isinstance(error, RateLimited):
        return f"rate limited until {error.retry_at:%H:%M:%S} UTC"
    return "the forge failed; try again later"


def run_serve(host: str, port: int, *, with_worker: bool | None) -> int:
    """The webhook receiver; with the embedded queue (no broker URL) also a worker beside it,
    so one command runs everything."""
    import uvicorn  # the web server is only needed by this command

    configure_process_logging()  # uvicorn's access and error logs too (no log_config of its own)
    settings = load_settings()  # fail fast on bad settings, before anything starts
    start_worker = settings.embedded_queue if with_worker is None else with_worker
    worker = None
    if start_worker:
        command = [sys.executable, "-m", "workers.cli", "worker", "--concurrency", "1"]
        worker = subprocess.Popen(command, preexec_fn=_die_with_parent)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default action
    # that kills this process before `finally` can stop the worker, which then runs orphaned.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run("bot.main:app_factory", factory=True, host=host, port=port, log_config=None)
    finally:
        if worker is not None:
            worker.terminate()  # Celery's warm shutdown: the running scan finishes first
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()  # unacknowledged, so the broker redelivers its scan
    return 0


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _die_with_parent() -> None:
    """In the worker before it starts: on Linux, SIGTERM it when `serve` dies, even by SIGKILL."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_scan_once(forge_name: str, repo: str, *, dry_run: bool) -> int:
    """Scan one repository now, without a queue: prints the outcome as JSON-ish lines."""
    settings = load_settings()
    forge = open_forge(settings, forge_name)
    job = ScanJob(forge=forge_name, repo=repo, reason="manual")
    try:
        outcome = scan.run(forge, job, dry_run=dry_run)
    except ForgeError as error:  # the forge's answer, not a bug: say it, exit 2
        raise ForgeFailed(f"{forge_name} {repo}: {_forge_problem(error)} ({error})") from None
    for key, value in asdict(outcome).items():
        print(f"{key}: {value}")
    return 1 if outcome.findings else 0


def run_scan_group(forge_name: str, group: str, *, dry_run: bool) -> int:
    """Queue the first scan of every project in a GitLab group (subgroups included) on the
    onboarding backlog, where the workers pace them on the forge's rate limits and pushes go
    first. With `dry_run`, list the projects and queue nothing."""
    from bot.webhooks.enqueue import EmbeddedEnqueuer, enqueuer_for

    settings = load_settings()
    forge = open_forge(settings, forge_name)
    if not isinstance(forge, GroupForge):
        raise UserError(f"{forge_name} has no groups to list: scan its repositories one by one")
    try:
        projects = forge.group_projects(group)
    except ForgeError as error:
        raise ForgeFailed(
            f"{forge_name} group {group}: {_forge_problem(error)} ({error})"
        ) from None
    jobs = [ScanJob(forge=forge_name, repo=project, reason=ONBOARDING) for project in projects]
    if dry_run:
        for job in jobs:
            print(job.repo)
        print(f"{len(jobs)} project(s) in {group}; nothing queued (dry run)")
        return 0
    enqueuer = enqueuer_for(settings)
    try:
        if isinstance(enqueuer, EmbeddedEnqueuer):  # one commit for the whole group
            enqueuer.enqueue_all_soon([(job, 0.0) for job in jobs]).result(timeout=60)
        else:
            for job in jobs:
                enqueuer.enqueue(job)
    finally:
        if isinstance(enqueuer, EmbeddedEnqueuer):
            enqueuer.close()
    print(f"queued the first scan of {len(jobs)} project(s) in {group}: workers pace them")
    return 0
