"""One skip policy: under `REQUIRE_ALL_TESTS=1` (what `.ci/run` sets) every skip is a failure.

Tests that need a service, a browser or the corpus just `pytest.skip(reason)` (or use `skipif`);
this plugin, loaded by tests/conftest.py, turns any skip (in a test, a fixture, a `skipif`
marker or at collection) into a failure that keeps the reason, so CI cannot go green on tests
that never ran. Expected failures (`xfail`) are left alone: they ran.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

REQUIRE_ALL_VARIABLE = "REQUIRE_ALL_TESTS"


def every_test_required() -> bool:
    return os.environ.get(REQUIRE_ALL_VARIABLE) == "1"


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not every_test_required():
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped, but {REQUIRE_ALL_VARIABLE}=1 requires every test to run: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_skip(report)
    return report
