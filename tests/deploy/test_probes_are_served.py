"""The probe paths the deploy artefacts ask are real endpoints of the web app, answering 200."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.main import create_app
from bot.webhooks.enqueue import InMemoryEnqueuer
from tests.deploy.artefacts import kubernetes_documents
from tests.deploy.contract import LIVENESS_PATH, READINESS_PATH
from workers.runtime.settings import Settings
from workers.runtime.state import SqliteState


def _probe_paths() -> set[str]:
    paths: set[str] = set()
    for document in kubernetes_documents():
        pod = document.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                path = container.get(probe, {}).get("httpGet", {}).get("path")
                if path:
                    paths.add(path)
    return paths


def test_every_probe_path_of_the_manifests_answers_200(tmp_path: Path) -> None:
    paths = _probe_paths()
    assert paths == {LIVENESS_PATH, READINESS_PATH}
    settings = Settings(
        github_app_id=1,
        github_webhook_secret=SecretStr("s"),
        data_dir=tmp_path / "data",
    )
    state = SqliteState(tmp_path / "state.sqlite")
    client = TestClient(create_app(settings, enqueuer=InMemoryEnqueuer(), state=state))
    try:
        for path in sorted(paths):
            assert client.get(path).status_code == 200, path
    finally:
        state.close()
