"""deploy/Dockerfile, read without Docker: stages, user, entrypoint, health check, sources."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.artefacts import COMPOSE_FILE, DEPLOY, DOCKERFILE, PYPROJECT, compose_document
from tests.deploy.compose_checks import build_paths, services
from tests.deploy.contract import REFUSED
from tests.deploy.dockerfile import DockerfileError, parse_dockerfile
from tests.deploy.dockerfile_checks import (
    copy_source_problems,
    entrypoint_problems,
    environment_problems,
    healthcheck_problems,
    lock_problems,
    multi_stage_problems,
    pyproject_facts,
    python_version_problems,
    user_problems,
)

Mutation = Callable[[str], str]


def build_context() -> Path:
    """The one context compose builds deploy/Dockerfile from (COPY sources are relative to it)."""
    contexts = {
        paths[0].resolve()
        for service in services(compose_document()).values()
        if (paths := build_paths(service, COMPOSE_FILE.parent)) is not None
        and paths[1].resolve() == DOCKERFILE.resolve()
    }
    assert len(contexts) == 1, contexts
    return contexts.pop()


def problems(text: str) -> list[str]:
    stages = parse_dockerfile(text)
    scripts, requires_python = pyproject_facts(PYPROJECT)
    return [
        *multi_stage_problems(stages),
        *user_problems(stages),
        *entrypoint_problems(stages, scripts),
        *healthcheck_problems(stages),
        *copy_source_problems(stages, build_context()),
        *environment_problems(stages),
        *python_version_problems(stages, requires_python),
        *lock_problems(stages),
    ]


def test_the_dockerfile_passes_every_check() -> None:
    assert problems(DOCKERFILE.read_text(encoding="utf-8")) == []


def test_the_image_is_built_from_the_repository_root() -> None:
    assert build_context() == DEPLOY.parent.resolve()


def replace(old: str, new: str) -> Mutation:
    def mutate(text: str) -> str:
        assert old in text, f"the mutation's anchor {old!r} is gone from the Dockerfile"
        return text.replace(old, new)

    return mutate


def drop_builder(text: str) -> str:
    last_from = list(re.finditer(r"^FROM ", text, re.MULTILINE))[-1]
    return text[last_from.start() :].replace("COPY --from=build /wheels /wheels\n", "")


BROKEN: dict[str, tuple[Mutation, str]] = {
    "single stage": (drop_builder, "single stage"),
    "no wheel built": (replace("pip wheel", "pip install"), "no builder stage"),
    "nothing copied from the builder": (
        replace("--from=build", "--from=python:3.11"),
        "copies nothing from the builder",
    ),
    "fat runtime base": (replace("\nFROM python:3.11-slim\n", "\nFROM python:3.11\n"), "slim"),
    "root by name": (replace("USER 10001", "USER root"), "numeric uid"),
    "root by number": (replace("USER 10001", "USER 0"), "USER 0 is root"),
    "no user": (replace("USER 10001\n", ""), "runs as root"),
    "entrypoint not the cli": (
        replace('ENTRYPOINT ["pullpolicy"]', 'ENTRYPOINT ["python", "-m", "workers.cli"]'),
        "ENTRYPOINT",
    ),
    "shell-form entrypoint": (
        replace('ENTRYPOINT ["pullpolicy"]', "ENTRYPOINT pullpolicy"),
        "exec",
    ),
    "cmd misspelled": (replace('"--no-worker"]', '"--no-workers"]'), REFUSED),
    "cmd on loopback": (replace('"0.0.0.0"', '"127.0.0.1"'), "unreachable from outside"),
    "cmd with a worker inside": (replace(', "--no-worker"]', "]"), "needs --no-worker"),
    "exposed port differs": (replace("EXPOSE 8000", "EXPOSE 9000"), "the container exposes 9000"),
    "health check path": (replace("/healthz'", "/health'"), "does not request /healthz"),
    "health check port": (replace(":8000/healthz", ":8080/healthz"), "does not ask port 8000"),
    "no health check": (
        lambda text: re.sub(r"^HEALTHCHECK .*\n", "", text, flags=re.M),
        "no HEALTHCHECK",
    ),
    "missing copy source": (replace("COPY bot ./bot", "COPY bots ./bot"), "bots not found"),
    "copy from outside": (replace("COPY bot ./bot", "COPY ../bot ./bot"), "outside the context"),
    "old python": (
        replace("FROM python:3.11-slim AS build", "FROM python:3.10-slim AS build"),
        "3.10",
    ),
    "lock installed without hashes": (
        replace("--find-links /wheels --require-hashes", "--find-links /wheels"),
        "without --require-hashes",
    ),
    "dependencies resolved for the package": (
        replace("--no-deps --no-build-isolation", "--no-build-isolation"),
        "resolves dependencies itself",
    ),
    "the dev lock in the image": (
        replace("COPY requirements/runtime.txt /tmp/", "COPY requirements/lock.txt /tmp/"),
        "installs requirements/lock.txt",
    ),
    "no lock in the runtime stage": (
        replace("--require-hashes -r /tmp/runtime.txt", "/wheels/*.whl"),
        "does not install requirements/runtime.txt",
    ),
    "unknown setting": (
        replace("PULLPOLICY_DATA_DIR=", "PULLPOLICY_DATADIR="),
        "no pullpolicy setting",
    ),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_copy_of_the_dockerfile_is_rejected(name: str) -> None:
    mutate, expected = BROKEN[name]
    found = problems(mutate(DOCKERFILE.read_text(encoding="utf-8")))
    assert any(expected in problem for problem in found), found


def test_the_reader_joins_continuations_and_skips_comments() -> None:
    stages = parse_dockerfile(
        "ARG BASE=python:3.11-slim\n"
        "FROM python:3.11-slim AS build\n"
        "# a comment\n"
        "RUN pip wheel \\\n"
        "  # a comment inside the continuation\n"
        "    --wheel-dir /wheels .\n"
        "FROM scratch\n"
        'copy ["a b", "/c"]\n'
    )
    assert [(stage.base, stage.name) for stage in stages] == [
        ("python:3.11-slim", "build"),
        ("scratch", None),
    ]
    run = stages[0].instructions[0]
    assert (run.keyword, run.arguments, run.line) == ("RUN", "pip wheel --wheel-dir /wheels .", 4)
    copy = stages[1].instructions[0]
    assert copy.keyword == "COPY"
    assert copy.options_and_words() == ({}, ["a b", "/c"])


@pytest.mark.parametrize(
    "text",
    [
        "FROM python:3.11-slim\nRUN <<EOF\necho hi\nEOF\n",
        "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\n",
        "RUN true\nFROM python:3.11-slim\n",
        "FROM python:3.11-slim\nRUN true \\\n",
    ],
    ids=["heredoc", "parser directive", "instruction before FROM", "dangling continuation"],
)
def test_the_reader_refuses_what_it_would_misread(text: str) -> None:
    with pytest.raises(DockerfileError):
        parse_dockerfile(text)
