"""Pytest fixture: a fresh fake forge per test, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeforge.forge import FakeForge


@pytest.fixture
def fake_forge(tmp_path: Path) -> Iterator[FakeForge]:
    forge = FakeForge(tmp_path / "fakeforge")
    forge.start()
    try:
        yield forge
    finally:
        forge.stop()
