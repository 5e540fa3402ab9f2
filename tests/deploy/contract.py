"""What the deploy artefacts must agree with in the code: the CLI's argv and the settings."""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from workers.cli.main import build_parser
from workers.runtime.settings import PREFIX, Settings

# The HTTP endpoints the orchestrators probe (`bot.main`): liveness, and readiness.
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"


REFUSED = "is refused by the CLI's own parser"


class InvalidInvocation(ValueError):
    pass


def parse_invocation(argv: Sequence[object]) -> argparse.Namespace:
    """`pullpolicy ARGV` parsed by the CLI's own parser; InvalidInvocation with its message."""
    words = [str(word) for word in argv]
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            return build_parser().parse_args(words)
    except SystemExit:
        # --help and --version exit too: neither is a service.
        message = errors.getvalue().strip().splitlines()[-1:] or ["prints and exits"]
        # Tests match REFUSED, our words; argparse's own message is only shown.
        command = f"`pullpolicy {shlex.join(words)}`"
        raise InvalidInvocation(f"{command} {REFUSED}: {message[0]}") from None


def invocation_problems(where: str, argv: object) -> list[str]:
    """Why ARGV is not a `pullpolicy` invocation (empty when it is one)."""
    if not isinstance(argv, list):
        return [f"{where}: command must be a list of words, got {argv!r}"]
    try:
        parse_invocation(argv)
    except InvalidInvocation as error:
        return [f"{where}: {error}"]
    return []


def serve_problems(where: str, invocation: argparse.Namespace, port: int | None) -> list[str]:
    """A containerised receiver: reachable from outside, on the published port, no worker inside
    (the deployments run workers separately)."""
    problems = []
    if invocation.host in ("127.0.0.1", "localhost", "::1"):
        problems.append(f"{where}: `serve --host {invocation.host}` is unreachable from outside")
    if invocation.with_worker is not False:
        problems.append(f"{where}: `serve` needs --no-worker, workers run as their own service")
    if port is not None and invocation.port != port:
        problems.append(f"{where}: serves on port {invocation.port}, the container exposes {port}")
    return problems


def unknown_settings(names: Iterable[str]) -> list[str]:
    """The PULLPOLICY_* names that are no setting (typos `load_settings` would reject)."""
    known = {f"{PREFIX}{field.upper()}" for field in Settings.model_fields}
    return sorted(name for name in names if name.startswith(PREFIX) and name not in known)


def url_hosts(values: Iterable[object]) -> set[str]:
    """Hosts named by the URL-valued settings (broker, Redis) among VALUES."""
    hosts = set()
    for value in values:
        if isinstance(value, str) and "://" in value:
            host = urlsplit(value).hostname
            if host:
                hosts.add(host)
    return hosts
