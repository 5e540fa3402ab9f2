"""Checks of deploy/compose.yaml without Docker: the Compose Specification's JSON schema (the
copy check-jsonschema ships), then what the schema cannot see — files, names and commands."""

from __future__ import annotations

import functools
import importlib.resources
import json
import posixpath
import re
from pathlib import Path
from typing import Any

import jsonschema

from tests.deploy.artefacts import Document, is_bot_image
from tests.deploy.contract import (
    InvalidInvocation,
    parse_invocation,
    serve_problems,
    unknown_settings,
    url_hosts,
)

SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"
SCHEMA_FILE = "compose-spec.json"
_NAMED_VOLUME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(
        importlib.resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_FILE).read_bytes()
    )
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def schema_problems(document: Document) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '(top level)'}: {error.message}"
        for error in _validator().iter_errors(document)
    ]


def services(document: Document) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = document.get("services", {})
    return found


def build_paths(service: dict[str, Any], compose_dir: Path) -> tuple[Path, Path] | None:
    """(context, Dockerfile) of a service built here, or None."""
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    context = compose_dir / build.get("context", ".")
    return context, context / build.get("dockerfile", "Dockerfile")


def build_problems(document: Document, compose_dir: Path) -> list[str]:
    """Build contexts are directories holding the Dockerfile they name."""
    problems = []
    for name, service in services(document).items():
        paths = build_paths(service, compose_dir)
        if paths is None:
            continue
        context, dockerfile = paths
        if not context.is_dir():
            problems.append(f"services.{name}.build: context {context.name} is no directory")
        elif not dockerfile.is_file():
            problems.append(f"services.{name}.build: no {dockerfile.name} in its context")
    return problems


def bot_services(document: Document, compose_dir: Path, dockerfile: Path) -> dict[str, Any]:
    """The services running the bot's image: built from DOCKERFILE, or pulled by name."""
    found = {}
    for name, service in services(document).items():
        paths = build_paths(service, compose_dir)
        built_here = paths is not None and paths[1].resolve() == dockerfile.resolve()
        if built_here or is_bot_image(service.get("image", "")):
            found[name] = service
    return found


def bot_service_problems(document: Document, compose_dir: Path, dockerfile: Path) -> list[str]:
    """Each bot service runs a valid `pullpolicy` command through the image's entrypoint; the
    receiver listens on its published port; other roles replace the receiver's health check."""
    problems: list[str] = []
    for name, service in bot_services(document, compose_dir, dockerfile).items():
        where = f"services.{name}"
        if service.get("entrypoint", ["pullpolicy"]) != ["pullpolicy"]:
            problems.append(f"{where}: entrypoint replaces the image's `pullpolicy`")
        command = service.get("command")
        if not isinstance(command, list):
            problems.append(f"{where}: command must be an explicit list of `pullpolicy` words")
            continue
        try:
            invocation = parse_invocation(command)
        except InvalidInvocation as error:
            problems.append(f"{where}: command: {error}")
            continue
        if invocation.command == "serve":
            targets = [_container_port(port) for port in service.get("ports", [])]
            problems.extend(serve_problems(where, invocation, targets[0] if targets else None))
            if not targets:
                problems.append(f"{where}: the receiver publishes no port")
        elif not _overrides_healthcheck(service):
            problems.append(
                f"{where}: `{invocation.command}` inherits the image's HEALTHCHECK, which only "
                "`serve` answers: disable or replace it"
            )
    return problems


def _container_port(port: object) -> int | None:
    if isinstance(port, dict):
        target = port.get("target")
        return int(target) if target is not None else None
    container_side = str(port).rsplit(":", 1)[-1].split("/", 1)[0]
    return int(container_side) if container_side.isdigit() else None


def _overrides_healthcheck(service: dict[str, Any]) -> bool:
    healthcheck = service.get("healthcheck", {})
    return healthcheck.get("disable") is True or "test" in healthcheck


def env_files(document: Document, compose_dir: Path) -> list[Path]:
    paths = []
    for service in services(document).values():
        entries = service.get("env_file", [])
        for entry in [entries] if isinstance(entries, str) else entries:
            path = entry if isinstance(entry, str) else entry["path"]
            paths.append(compose_dir / path)
    return sorted(set(paths))


def env_file_problems(document: Document, compose_dir: Path, root: Path, docs: str) -> list[str]:
    """Each env file is named in the docs (as a path from the repository root)."""
    problems = []
    for path in env_files(document, compose_dir):
        shown = posixpath.normpath(path.relative_to(root).as_posix())
        if f"`{shown}`" not in docs:
            problems.append(f"env_file {shown} is not documented")
    return problems


def volume_problems(document: Document) -> list[str]:
    """Named volumes the services mount are declared, and declared ones are mounted."""
    declared = set(document.get("volumes") or {})
    used: set[str] = set()
    problems = []
    for name, service in services(document).items():
        for volume in service.get("volumes", []):
            source = _named_source(volume)
            if source is None:
                continue
            used.add(source)
            if source not in declared:
                problems.append(f"services.{name}: volume {source} is not declared")
    problems.extend(f"volume {name} is declared but unused" for name in sorted(declared - used))
    return problems


def _named_source(volume: object) -> str | None:
    if isinstance(volume, dict):
        source = volume.get("source") if volume.get("type", "volume") == "volume" else None
        return str(source) if source else None
    parts = str(volume).split(":")
    if len(parts) >= 2 and _NAMED_VOLUME.match(parts[0]):
        return parts[0]
    return None


def dependency_problems(document: Document) -> list[str]:
    """depends_on names services; waiting for health needs a health check declared here."""
    known = services(document)
    problems = []
    for name, service in known.items():
        for other, condition in _dependencies(service).items():
            if other not in known:
                problems.append(f"services.{name}: depends on unknown service {other}")
            elif condition == "service_healthy" and "test" not in known[other].get(
                "healthcheck", {}
            ):
                problems.append(
                    f"services.{name}: waits for {other} to be healthy; it has no check"
                )
    return problems


def _dependencies(service: dict[str, Any]) -> dict[str, str]:
    """depends_on as service -> condition, from its list or its mapping form."""
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {other: spec.get("condition", "service_started") for other, spec in depends.items()}


def environment_problems(document: Document, compose_dir: Path, dockerfile: Path) -> list[str]:
    """The bot's environment names real settings, and its URLs point at services here."""
    problems: list[str] = []
    for name, service in bot_services(document, compose_dir, dockerfile).items():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(entry.partition("=")[::2] for entry in environment)
        problems.extend(
            f"services.{name}: {v} is no setting" for v in unknown_settings(environment)
        )
        for host in sorted(url_hosts(environment.values())):
            if host not in services(document):
                problems.append(f"services.{name}: {host} is no service of this file")
    return problems


def data_volume_problems(
    document: Document, compose_dir: Path, dockerfile: Path, data_dir: str | None
) -> list[str]:
    """Volumes mounted into the bot hold its data: at the image's PULLPOLICY_DATA_DIR."""
    problems: list[str] = []
    for name, service in bot_services(document, compose_dir, dockerfile).items():
        for volume in service.get("volumes", []):
            target = _target(volume)
            if target != data_dir:
                problems.append(f"services.{name}: mounts {target}, the data dir is {data_dir}")
    return problems


def _target(volume: object) -> str | None:
    """Where a service volume is mounted (short `SOURCE:TARGET[:MODE]` or `TARGET`, or long)."""
    if isinstance(volume, dict):
        target = volume.get("target")
        return str(target) if target is not None else None
    parts = str(volume).split(":")
    return parts[1] if len(parts) > 1 else parts[0]
