"""requirements/lock.txt and runtime.txt agree with pyproject.toml (refresh: `make lock`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.deploy.artefacts import DOCKERFILE
from tests.lockfile import (
    LOCK,
    REPOSITORY_ROOT,
    RUNTIME_LOCK,
    installed_differently,
    lock_python,
    needed,
    pins,
    project_requirements,
    unmet,
)

WITH_DEV = {LOCK.name: True, RUNTIME_LOCK.name: False}
LOCKS = [LOCK, RUNTIME_LOCK]
REFRESH = "pyproject.toml and the lock disagree: run `make lock` (then `make install`)"


def lock_ids(path: Path) -> str:
    return path.name


@pytest.mark.parametrize("lock", LOCKS, ids=lock_ids)
def test_every_requirement_is_met_by_a_pin(lock: Path) -> None:
    pinned = pins(lock.read_text(encoding="utf-8"))
    assert unmet(project_requirements(dev=WITH_DEV[lock.name]), pinned) == [], REFRESH


def test_this_environment_is_installed_from_the_lock() -> None:
    # The next test follows installed metadata: it must be the lock's.
    assert installed_differently(pins(LOCK.read_text(encoding="utf-8"))) == [], "run make install"


@pytest.mark.parametrize("lock", LOCKS, ids=lock_ids)
def test_nothing_is_pinned_that_nothing_requires(lock: Path) -> None:
    pinned = set(pins(lock.read_text(encoding="utf-8")))
    reached = needed(project_requirements(dev=WITH_DEV[lock.name]))
    assert (sorted(pinned - reached), sorted(reached - pinned)) == ([], []), REFRESH


def test_the_image_gets_the_versions_ci_tests() -> None:
    full = pins(LOCK.read_text(encoding="utf-8"))
    runtime = pins(RUNTIME_LOCK.read_text(encoding="utf-8"))
    assert {name: (version, full.get(name)) for name, version in runtime.items()} == {
        name: (version, version) for name, version in runtime.items()
    }


def test_a_requirement_missing_from_the_lock_is_caught() -> None:
    text = LOCK.read_text(encoding="utf-8")
    without_yaml = re.sub(r"(?m)^pyyaml==.*\n(?:    .*\n)*", "", text)
    problems = unmet(project_requirements(dev=True), pins(without_yaml))
    assert [problem.split("<")[0] for problem in problems] == ["PyYAML"]
    assert unmet([Requirement("PyYAML>=99")], pins(text)) != []


def test_a_pin_nothing_requires_is_caught() -> None:
    roots = project_requirements(dev=True)
    assert {"selenium", "kombu"} <= needed(roots)  # a root, and one reached through celery
    assert "selenium" not in needed([root for root in roots if root.name != "selenium"])


@pytest.mark.parametrize(
    "entry",
    ["six>=1 --hash=sha256:" + "0" * 64, "six==1.16.0", "six --hash=sha256:" + "0" * 64],
    ids=["range", "no hash", "no version"],
)
def test_the_lock_reader_refuses_anything_but_hashed_pins(entry: str) -> None:
    with pytest.raises(ValueError, match="exact pin"):
        pins(entry + "\n")


def test_the_lock_is_made_for_the_python_the_image_and_ci_run() -> None:
    locked = lock_python()
    images = re.findall(r"^FROM python:(\d+\.\d+)", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert images and set(images) == {locked}
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == locked


def makefile_rule(target: str) -> tuple[list[str], list[str]]:
    """A Makefile rule's prerequisites and recipe lines, variables expanded (`:=` and `?=`)."""
    text = (REPOSITORY_ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+) *[:?]?= *(.*)$", text, re.MULTILINE))

    def expand(value: str) -> str:
        for _ in range(5):  # nested references, e.g. $(STAMP) → $(VENV)/...
            value = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), value)
        return value

    lines = text.splitlines()
    for index, line in enumerate(lines):
        head, colon, prerequisites = expand(line).partition(":")
        if colon and not line.startswith("\t") and head.strip() == expand(target):
            recipe = []
            for following in lines[index + 1 :]:
                if not following.startswith("\t"):
                    break
                recipe.append(expand(following.strip()))
            return prerequisites.split(), recipe
    raise AssertionError(f"no Makefile rule for {target}")


def test_make_installs_exactly_the_lock() -> None:
    prerequisites, recipe = makefile_rule("$(STAMP)")
    lock = str(LOCK.relative_to(REPOSITORY_ROOT))
    assert lock in prerequisites  # a changed lock reinstalls
    installs = [line for line in recipe if " install " in f" {line} "]
    assert any(f"--require-hashes -r {lock}" in line for line in installs), installs
    # Anything else installed must resolve nothing: only the lock chooses versions.
    others = [line for line in installs if "--require-hashes" not in line]
    assert others and all("--no-deps" in line for line in others), others
