"""The worker's settings against the local fake forge: a GitHub App installed on REPO, which
holds one Pod without `imagePullPolicy` (one finding, so a scan opens a pull request)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakeforge import FakeForge
from tests.fakeforge.app_keys import AppKey
from tests.forge_subjects import APP_ID, INSTALLATION_ID, POD, REPO
from workers.runtime.settings import Settings


@pytest.fixture
def settings(fake_forge: FakeForge, app_key: AppKey, tmp_path: Path) -> Settings:
    fake_forge.register_app(APP_ID, app_key.public_pem)
    fake_forge.create_repo(REPO, {"pod.yaml": POD})
    fake_forge.add_installation(INSTALLATION_ID, [REPO])
    return Settings.model_validate(
        {
            "github_api_url": fake_forge.github_api_url,
            "github_app_id": APP_ID,
            "github_private_key": app_key.private_pem,
            "github_seconds_between_requests": 0,
            "github_seconds_between_writes": 0,
            "forge_read_retries": 0,
            "data_dir": tmp_path / "data",
            "max_scans_per_installation": 1,
        }
    )
