"""Reading requirements/*.txt (made by `make lock`) and checking them against pyproject.toml.

A lock agrees with pyproject when every requirement pyproject states (and requirements/build.in
adds) is met by a pinned version, and every pin is needed: reachable from those requirements
through the installed distributions' own metadata. `make install` installs the lock, so that
metadata is the lock's.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPOSITORY_ROOT / "pyproject.toml"
REQUIREMENTS = REPOSITORY_ROOT / "requirements"
LOCK = REQUIREMENTS / "lock.txt"  # runtime, dev and build tools: `make install`, CI
RUNTIME_LOCK = REQUIREMENTS / "runtime.txt"  # runtime and build tools: the Docker image
BUILD_INPUT = REQUIREMENTS / "build.in"


def lock_python() -> str:
    """The Python (major.minor) the locks are made for: the Makefile's LOCK_PYTHON."""
    makefile = (REPOSITORY_ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^LOCK_PYTHON := (\d+\.\d+)$", makefile, re.MULTILINE)
    assert found is not None, "the Makefile names no LOCK_PYTHON"
    return found[1]


def applies(requirement: Requirement, extra: str = "") -> bool:
    """Whether the requirement applies on this platform with the Python the lock is made for
    (uv resolves `--python-version 3.11` as 3.11.0: so must this check)."""
    if requirement.marker is None:
        return True
    python = lock_python()
    environment = {"python_version": python, "python_full_version": f"{python}.0", "extra": extra}
    return requirement.marker.evaluate(environment)


def pins(lock_text: str) -> dict[NormalizedName, Version]:
    """name → pinned version; every entry must be `name==version` with at least one hash."""
    found: dict[NormalizedName, Version] = {}
    for entry in _entries(lock_text):
        requirement_text, _, hashes = entry.partition(" --hash=")
        requirement = Requirement(requirement_text.strip())
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or not hashes:
            raise ValueError(f"not an exact pin with hashes: {entry!r}")
        found[canonicalize_name(requirement.name)] = Version(specifiers[0].version)
    return found


def _entries(lock_text: str) -> list[str]:
    """Lock entries with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", lock_text)
    entries = []
    for line in joined.splitlines():
        line = line.split("#", 1)[0].strip()  # `--hash=sha256:` holds no "#"
        if line:
            entries.append(" ".join(line.split()))
    return entries


def project_requirements(*, dev: bool) -> list[Requirement]:
    """What pyproject asks for ([project] dependencies, the render extra that both locks carry,
    the dev extra) and build.in adds."""
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    texts = list(pyproject["project"]["dependencies"])
    texts += pyproject["project"]["optional-dependencies"]["render"]
    if dev:
        texts += pyproject["project"]["optional-dependencies"]["dev"]
    texts += pyproject["build-system"]["requires"]
    texts += [
        line.split("#", 1)[0] for line in BUILD_INPUT.read_text(encoding="utf-8").splitlines()
    ]
    return [Requirement(text) for text in texts if text.strip()]


def unmet(requirements: list[Requirement], pinned: dict[NormalizedName, Version]) -> list[str]:
    """Requirements (for this platform) that no pinned version satisfies."""
    problems = []
    for requirement in requirements:
        if not applies(requirement):
            continue
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} (locked: {version or 'nothing'})")
    return problems


def installed_differently(pinned: dict[NormalizedName, Version]) -> list[str]:
    """Pins this environment does not have at that version (`make install` fixes it)."""
    problems = []
    for name, version in sorted(pinned.items()):
        try:
            found = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            problems.append(f"{name}=={version} is not installed")
            continue
        if found != version:
            problems.append(f"{name}=={version} is installed at {found}")
    return problems


def needed(requirements: list[Requirement]) -> set[NormalizedName]:
    """Every distribution the requirements reach, following installed metadata (with extras)."""
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    pending = [requirement for requirement in requirements if applies(requirement)]
    while pending:
        requirement = pending.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(key[0]) or []
        except metadata.PackageNotFoundError:
            requires = []  # not installed: the test of the pins reports it
        for text in requires:
            dependency = Requirement(text)
            # A dependency may apply only with one of the extras asked for (`celery[redis]`).
            if any(applies(dependency, extra) for extra in ["", *key[1]]):
                pending.append(dependency)
    return {name for name, _ in seen}
