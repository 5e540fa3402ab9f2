"""Structural checks of deploy/Dockerfile: each function returns the problems it finds."""

from __future__ import annotations

import argparse
import posixpath
import re
import shlex
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

from tests.deploy.contract import (
    LIVENESS_PATH,
    InvalidInvocation,
    parse_invocation,
    serve_problems,
    unknown_settings,
)
from tests.deploy.dockerfile import Stage

_PYTHON_IMAGE = re.compile(r"^(?:docker\.io/)?(?:library/)?python:(\d+)\.(\d+)")
_WHEEL_BUILD = re.compile(r"\bpip\s+wheel\b|\bpython\d*(?:\.\d+)?\s+-m\s+build\b")


def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def multi_stage_problems(stages: list[Stage]) -> list[str]:
    """A builder stage makes the wheel; a slim runtime stage installs only what it copies."""
    if len(stages) < 2:
        return ["single stage: build a wheel in a builder stage, install it in a runtime stage"]
    final = runtime(stages)
    builders = [
        (index, stage)
        for index, stage in enumerate(stages[:-1])
        if any(_WHEEL_BUILD.search(run.arguments) for run in stage.all("RUN"))
    ]
    if not builders:
        return ["no builder stage runs `pip wheel` (or `python -m build`)"]
    problems = []
    builder_refs = {ref for index, stage in builders for ref in (str(index), stage.name) if ref}
    copied_from = {copy.options_and_words()[0].get("from") for copy in final.all("COPY")}
    if not builder_refs & copied_from:
        problems.append("the runtime stage copies nothing from the builder stage")
    if "slim" not in final.base.rsplit(":", 1)[-1]:
        problems.append(f"the runtime stage is based on {final.base}, not a slim image")
    if any(_WHEEL_BUILD.search(run.arguments) for run in final.all("RUN")):
        problems.append("the runtime stage builds wheels itself")
    return problems


def user_problems(stages: list[Stage]) -> list[str]:
    """Non-root by number: Kubernetes' runAsNonRoot can only verify a numeric user."""
    user = runtime(stages).last("USER")
    if user is None:
        return ["the runtime stage sets no USER: the container runs as root"]
    uid = user.arguments.split(":", 1)[0]
    if not uid.isdigit():
        return [f"USER {user.arguments}: use a numeric uid (runAsNonRoot cannot check names)"]
    if int(uid) == 0:
        return ["USER 0 is root"]
    return []


def runtime_uid(stages: list[Stage]) -> int | None:
    user = runtime(stages).last("USER")
    if user is None or not user.arguments.split(":", 1)[0].isdigit():
        return None
    return int(user.arguments.split(":", 1)[0])


def entrypoint_problems(stages: list[Stage], console_scripts: set[str]) -> list[str]:
    """ENTRYPOINT is the `pullpolicy` console script; CMD is a valid receiver invocation."""
    final = runtime(stages)
    entrypoint = final.last("ENTRYPOINT")
    words = entrypoint.exec_form() if entrypoint else None
    if words is None or len(words) != 1 or words[0] not in console_scripts:
        shown = entrypoint.arguments if entrypoint else "(none)"
        return [f"ENTRYPOINT {shown}: expected the exec form of one of {sorted(console_scripts)}"]
    command = default_invocation(stages)
    if isinstance(command, str):
        return [command]
    if command.command != "serve":
        return [f"CMD runs `{command.command}`; the image's default role is the receiver"]
    return serve_problems("CMD", command, _single_exposed_port(final))


def default_invocation(stages: list[Stage]) -> argparse.Namespace | str:
    """The CMD parsed by the CLI, or why it cannot be."""
    cmd = runtime(stages).last("CMD")
    words = cmd.exec_form() if cmd else None
    if words is None:
        return "CMD must be an exec-form list of `pullpolicy` arguments"
    try:
        return parse_invocation(words)
    except InvalidInvocation as error:
        return f"CMD: {error}"


def healthcheck_problems(stages: list[Stage]) -> list[str]:
    """Docker's health check asks the receiver's liveness endpoint on the port CMD serves."""
    check = runtime(stages).last("HEALTHCHECK")
    if check is None or check.arguments.upper() == "NONE":
        return ["the runtime stage has no HEALTHCHECK"]
    _, words = check.options_and_words()
    if not words or words[0].upper() != "CMD":
        return [f"HEALTHCHECK {check.arguments}: expected `CMD ...`"]
    probe = " ".join(words[1:])
    problems = []
    if LIVENESS_PATH not in probe:
        problems.append(f"HEALTHCHECK does not request {LIVENESS_PATH}")
    command = default_invocation(stages)
    if not isinstance(command, str) and f":{command.port}/" not in probe:
        problems.append(f"HEALTHCHECK does not ask port {command.port}, where CMD serves")
    return problems


def copy_source_problems(stages: list[Stage], context: Path) -> list[str]:
    """Every COPY/ADD source taken from the build context exists there."""
    problems = []
    for stage in stages:
        for instruction in (*stage.all("COPY"), *stage.all("ADD")):
            options, words = instruction.options_and_words()
            if "from" in options or len(words) < 2:
                continue
            for source in words[:-1]:
                if re.match(r"^[a-z]+://|^git@", source):
                    continue  # ADD of a URL: not from the context
                normal = posixpath.normpath(source)
                if normal.startswith(("/", "..")):
                    problems.append(f"line {instruction.line}: {source} is outside the context")
                elif not list(context.glob(normal)):
                    problems.append(f"line {instruction.line}: {source} not found in the context")
    return problems


def environment(stage: Stage) -> dict[str, str]:
    """The stage's ENV settings (`ENV K=V ...`, or the legacy `ENV K V`)."""
    values: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        words = shlex.split(instruction.arguments)
        if words and "=" not in words[0]:
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            values[key] = value
    return values


def environment_problems(stages: list[Stage]) -> list[str]:
    return [
        f"ENV {name} is no pullpolicy setting"
        for name in unknown_settings(environment(runtime(stages)))
    ]


def python_version_problems(stages: list[Stage], requires_python: str) -> list[str]:
    """Python base images satisfy the package's requires-python."""
    problems = []
    for stage in stages:
        match = _PYTHON_IMAGE.match(stage.base)
        if match is None:
            continue
        version = f"{match[1]}.{match[2]}"
        if version not in SpecifierSet(requires_python):
            problems.append(f"FROM {stage.base}: Python {version} is not {requires_python}")
    return problems


def pyproject_facts(pyproject: Path) -> tuple[set[str], str]:
    """The console scripts and requires-python of the package."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return set(project.get("scripts", {})), str(project["requires-python"])


def _single_exposed_port(stage: Stage) -> int | None:
    ports = [
        int(word.split("/", 1)[0])
        for expose in stage.all("EXPOSE")
        for word in expose.arguments.split()
    ]
    return ports[0] if len(ports) == 1 else None


RUNTIME_LOCK = "requirements/runtime.txt"  # `make lock`: runtime dependencies, pinned and hashed


def lock_problems(stages: list[Stage]) -> list[str]:
    """Dependencies come only from the hashed lock: the image runs the versions CI tested.

    Every pip command either installs a lock (`--require-hashes -r requirements/runtime.txt`)
    or resolves nothing (`--no-deps`, or `--no-index` over the wheels the lock let in).
    """
    problems = []
    for stage in stages:
        for run in stage.all("RUN"):
            for words in _pip_commands(run.arguments):
                problems.extend(_pip_problems(stage, run.line, words))
    installs_lock = any(
        "--require-hashes" in words and _copied_source(runtime(stages), path) == RUNTIME_LOCK
        for run in runtime(stages).all("RUN")
        for words in _pip_commands(run.arguments)
        if words[0] == "install"
        for path in _requirement_files(words)
    )
    if not installs_lock:
        problems.append(f"the runtime stage does not install {RUNTIME_LOCK} with --require-hashes")
    return problems


def _pip_problems(stage: Stage, line: int, words: list[str]) -> list[str]:
    shown = f"line {line}: pip {' '.join(words)}"
    files = _requirement_files(words)
    if files:
        problems = [] if "--require-hashes" in words else [f"{shown}: without --require-hashes"]
        for path in files:
            source = _copied_source(stage, path)
            if source != RUNTIME_LOCK:
                problems.append(f"{shown}: installs {source or path}, not {RUNTIME_LOCK}")
        return problems
    if "--no-deps" in words or "--no-index" in words:
        return []
    return [f"{shown}: resolves dependencies itself (use --no-deps, or the lock)"]


def _pip_commands(script: str) -> list[list[str]]:
    """The arguments of each `pip install|wheel` (or `python -m pip ...`) in a RUN line."""
    commands = []
    for part in re.split(r"&&|\|\||;", script):
        words = shlex.split(part)
        if words[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
            words = words[2:]
        is_pip = len(words) >= 2 and posixpath.basename(words[0]) in ("pip", "pip3")
        if is_pip and words[1] in ("install", "wheel"):
            commands.append(words[1:])
    return commands


def _requirement_files(words: list[str]) -> list[str]:
    files = []
    for index, word in enumerate(words):
        if word in ("-r", "--requirement") and index + 1 < len(words):
            files.append(words[index + 1])
        elif word.startswith("--requirement="):
            files.append(word.split("=", 1)[1])
    return files


def _copied_source(stage: Stage, path: str) -> str | None:
    """The build-context file a stage's COPY put at `path` (relative to its WORKDIR)."""
    workdir = stage.last("WORKDIR")
    base = workdir.arguments if workdir else "/"
    wanted = posixpath.normpath(posixpath.join(base, path))
    for copy in stage.all("COPY"):
        options, words = copy.options_and_words()
        if "from" in options or len(words) < 2:
            continue
        *sources, destination = words
        target = posixpath.join(base, destination)
        into_directory = destination.endswith("/") or len(sources) > 1
        for source in sources:
            placed = target
            if into_directory:
                placed = posixpath.join(target, posixpath.basename(source))
            if posixpath.normpath(placed) == wanted:
                return posixpath.normpath(source)
    return None
