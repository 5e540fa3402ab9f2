"""The skip policy of tests/require_all.py, run on small suites of its own with pytester."""

from __future__ import annotations

import pytest

from tests.require_all import REQUIRE_ALL_VARIABLE

pytest_plugins = ["pytester"]

EVERY_KIND_OF_SKIP = """
import pytest

@pytest.fixture
def service():
    pytest.skip("no service here")

def test_skips_in_its_body():
    pytest.skip("no corpus here")

@pytest.mark.skipif(True, reason="not on this platform")
def test_skipped_by_a_marker():
    pass

@pytest.mark.skip(reason="not today")
def test_skipped_unconditionally():
    pass

def test_needs_a_service(service):
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_to_fail():
    assert False

def test_runs():
    pass
"""

SKIPPED_MODULE = """
import pytest

pytest.skip("this whole module needs a browser", allow_module_level=True)

def test_never_collected():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_kinds=EVERY_KIND_OF_SKIP)
    return pytester


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest("-p", "tests.require_all", "-p", "no:randomly", "-rfE")


def test_skips_stay_skips_by_default(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REQUIRE_ALL_VARIABLE, raising=False)
    run(suite).assert_outcomes(passed=1, skipped=4, xfailed=1)


def test_every_skip_fails_when_all_tests_are_required(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REQUIRE_ALL_VARIABLE, "1")
    result = run(suite)
    # A skip in a test's body fails it; skip markers and a fixture's skip act during setup, so
    # they fail as setup errors. The expected failure and the passing test are left as they are.
    result.assert_outcomes(passed=1, failed=1, errors=3, xfailed=1)
    for reason in ("no corpus here", "not on this platform", "not today", "no service here"):
        result.stdout.fnmatch_lines([f"*{REQUIRE_ALL_VARIABLE}=1*{reason}*"])
    assert result.ret != 0


@pytest.mark.parametrize(("required", "outcomes"), [("0", {"skipped": 1}), ("1", {"errors": 1})])
def test_a_module_skipped_at_collection_follows_the_same_policy(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    required: str,
    outcomes: dict[str, int],
) -> None:
    monkeypatch.setenv(REQUIRE_ALL_VARIABLE, required)
    pytester.makepyfile(test_module_skip=SKIPPED_MODULE)
    result = run(pytester)
    result.assert_outcomes(**outcomes)
    succeeded = result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    assert succeeded is (required == "0")
