"""Helm's engine for the tests that render (a fixture, imported by their conftest.py): one
child process per test session; skipped where the `render` extra is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workers.render.helm import HelmEngine, available


@pytest.fixture(scope="session")
def engine() -> Iterator[HelmEngine]:
    if not available():
        pytest.skip("helm-python-sdk is not installed (the `render` extra)")
    with HelmEngine() as running:
        yield running
