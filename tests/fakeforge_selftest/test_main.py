"""`python -m tests.fakeforge` as a process: URL on the first line, seeds, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakeforge_selftest.helpers import TOKEN, http

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_process_serves_seeded_repositories_and_stops_on_sigterm(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    (seed / "k8s").mkdir(parents=True)
    (seed / "k8s" / "app.yaml").write_text("kind: Pod\n")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "tests.fakeforge",
            "--port", "0",
            "--root", str(tmp_path / "root"),
            "--seed", f"acme/seeded={seed}",
            "--token", TOKEN,
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        contents = http("GET", f"{url}/api/v3/repos/acme/seeded/contents/k8s/app.yaml", token=TOKEN)
        assert contents.status == 200
        assert contents.json()["path"] == "k8s/app.yaml"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
