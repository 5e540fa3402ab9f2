"""`pullpolicy serve` with the embedded queue starts a worker beside it: stopping serve, however
it is stopped, must not leave that worker running on its own (real processes, Linux /proc)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import REPO_ROOT, free_port, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; the worker's exit is Linux"),
]


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with (task / "children").open() as listed:
            found.extend(int(child) for child in listed.read().split())
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_serve_stops_its_embedded_worker(tmp_path: Path, stop: signal.Signals) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULLPOLICY_")}
    env |= {
        "PULLPOLICY_INSECURE_NO_WEBHOOK_SECRET": "1",
        "PULLPOLICY_DATA_DIR": str(tmp_path / "data"),
    }
    command = [sys.executable, "-m", "workers.cli", "serve", "--port", str(free_port())]
    with (tmp_path / "serve.log").open("wb") as log:
        serve = subprocess.Popen(
            command,
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        workers = wait_for(lambda: children(serve.pid), what="serve to start its worker")
        serve.send_signal(stop)
        serve.wait(timeout=90)
        wait_for(
            lambda: not any(running(pid) for pid in workers),
            timeout=90,
            what=f"the embedded worker to exit after serve got {stop.name}",
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)  # whatever is left of the group
