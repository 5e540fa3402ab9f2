"""deploy/compose.yaml without Docker: the Compose Specification schema, then the files, names,
commands and settings it refers to."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.artefacts import (
    COMPOSE_FILE,
    DEPLOY_README,
    DOCKERFILE,
    REPOSITORY_ROOT,
    Document,
    compose_document,
)
from tests.deploy.compose_checks import (
    bot_service_problems,
    bot_services,
    build_problems,
    data_volume_problems,
    dependency_problems,
    env_file_problems,
    env_files,
    environment_problems,
    schema_problems,
    volume_problems,
)
from tests.deploy.contract import REFUSED
from tests.deploy.dockerfile import parse_dockerfile
from tests.deploy.dockerfile_checks import environment, runtime

COMPOSE_DIR = COMPOSE_FILE.parent

Mutation = Callable[[Document], None]


@pytest.fixture
def document() -> Document:
    return compose_document()


def image_data_dir() -> str | None:
    stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    return environment(runtime(stages)).get("PULLPOLICY_DATA_DIR")


def consistency_problems(document: Document) -> list[str]:
    return [
        *build_problems(document, COMPOSE_DIR),
        *bot_service_problems(document, COMPOSE_DIR, DOCKERFILE),
        *env_file_problems(
            document, COMPOSE_DIR, REPOSITORY_ROOT, DEPLOY_README.read_text(encoding="utf-8")
        ),
        *volume_problems(document),
        *dependency_problems(document),
        *environment_problems(document, COMPOSE_DIR, DOCKERFILE),
        *data_volume_problems(document, COMPOSE_DIR, DOCKERFILE, image_data_dir()),
    ]


def test_the_compose_file_is_valid_against_the_compose_specification(document: Document) -> None:
    assert schema_problems(document) == []


def test_the_compose_file_is_consistent(document: Document) -> None:
    assert set(bot_services(document, COMPOSE_DIR, DOCKERFILE)) == {"web", "worker"}
    assert consistency_problems(document) == []


def test_env_files_are_kept_out_of_git(document: Document) -> None:
    # They hold the secrets: `git add -A` must not pick them up.
    git = shutil.which("git")
    if git is None or not (REPOSITORY_ROOT / ".git").exists():
        pytest.skip("needs git and a git work tree to ask `git check-ignore`")
    paths = [str(path.relative_to(REPOSITORY_ROOT)) for path in env_files(document, COMPOSE_DIR)]
    assert paths
    ignored = subprocess.run(
        [git, "check-ignore", "--no-index", *paths],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sorted(ignored.stdout.split()) == sorted(paths), ignored.stderr


def service(document: Document, name: str) -> dict[str, Any]:
    assert name in document["services"], f"the mutation's target service {name} is gone"
    found: dict[str, Any] = document["services"][name]
    return found


_DELETE = object()


def on(name: str, key: str, value: object) -> Mutation:
    def mutate(document: Document) -> None:
        if value is _DELETE:
            del service(document, name)[key]
        else:
            service(document, name)[key] = value

    return mutate


def rename_command(document: Document) -> None:
    web = service(document, "web")
    web["comand"] = web.pop("command")


def add_top_level(document: Document) -> None:
    document["service"] = {}


SCHEMA_BREAKS: dict[str, tuple[Mutation, str]] = {
    "misspelled service key": (rename_command, "'comand' was unexpected"),
    "ports as a number": (on("web", "ports", 8000), "8000 is not of type 'array'"),
    "unknown top-level key": (add_top_level, "'service' does not match any of the regexes"),
    "misspelled nested key": (
        on("worker", "healthcheck", {"disable": True, "intervall": "30s"}),
        "'intervall' does not match",
    ),
}


@pytest.mark.parametrize("name", SCHEMA_BREAKS)
def test_the_schema_validation_rejects_a_broken_copy(name: str, document: Document) -> None:
    mutate, expected = SCHEMA_BREAKS[name]
    mutate(document)
    found = schema_problems(document)
    assert any(expected in problem for problem in found), found


def web_word(old: str, new: str | None) -> Mutation:
    """Replace (None: drop) one word of the receiver's command."""

    def mutate(document: Document) -> None:
        command = service(document, "web")["command"]
        assert old in command, f"the mutation's anchor {old} is gone from the command"
        service(document, "web")["command"] = [
            word if word != old else new for word in command if word != old or new is not None
        ]

    return mutate


BREAKS: dict[str, tuple[Mutation, str]] = {
    "dockerfile missing": (
        on("web", "build", {"context": "..", "dockerfile": "deploy/Dockerfil"}),
        "no Dockerfil in its context",
    ),
    "context missing": (on("web", "build", {"context": "../nowhere"}), "is no directory"),
    "misspelled cli flag": (web_word("--no-worker", "--no-workers"), REFUSED),
    "unknown subcommand": (on("worker", "command", ["wrker"]), REFUSED),
    "receiver with a worker inside": (web_word("--no-worker", None), "needs --no-worker"),
    "receiver on loopback": (web_word("0.0.0.0", "127.0.0.1"), "unreachable from outside"),  # noqa: S104
    "published port differs": (on("web", "ports", ["8000:8080"]), "the container exposes 8080"),
    "receiver unpublished": (on("web", "ports", _DELETE), "publishes no port"),
    "worker keeps the receiver's health check": (
        on("worker", "healthcheck", _DELETE),
        "inherits the image's HEALTHCHECK",
    ),
    "entrypoint replaced": (on("worker", "entrypoint", ["celery"]), "entrypoint replaces"),
    "shell-string command": (on("worker", "command", "worker"), "explicit list"),
    "undocumented env file": (on("web", "env_file", ".env.production"), "not documented"),
    "undeclared volume": (on("worker", "volumes", ["wrker-data:/data"]), "not declared"),
    "unused volume": (lambda d: d["volumes"].update({"spare": {}}), "declared but unused"),
    "unknown dependency": (on("web", "depends_on", ["cache"]), "unknown service cache"),
    "waiting for health nobody checks": (
        on("web", "depends_on", {"redis": {"condition": "service_healthy"}}),
        "it has no check",
    ),
    "misspelled setting": (
        on("web", "environment", {"PULLPOLICY_REDIS_URI": "redis://redis:6379/1"}),
        "PULLPOLICY_REDIS_URI is no setting",
    ),
    "broker host unknown": (
        on("worker", "environment", ["PULLPOLICY_BROKER_URL=redis://cache:6379/0"]),
        "cache is no service",
    ),
    "data volume elsewhere": (on("worker", "volumes", ["worker-data:/var/lib"]), "data dir is"),
}


@pytest.mark.parametrize("name", BREAKS)
def test_the_consistency_checks_reject_a_broken_copy(name: str, document: Document) -> None:
    mutate, expected = BREAKS[name]
    mutate(document)
    found = consistency_problems(document)
    assert any(expected in problem for problem in found), found
