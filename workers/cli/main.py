"""`pullpolicy`: the parser and the one dispatch to each verb's module; errors end here.

Exit codes (workers/cli/errors.py): 0 clean, 1 findings or changes, 2 usage, configuration or
settings errors, 3 a crash, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from workers import __version__
from workers.cli.check import run_check
from workers.cli.errors import CRASH, INTERRUPTED, UserError, crash_line, user_errors
from workers.cli.fix import run_fix
from workers.cli.schema import run_schema
from workers.cli.validate_config import run_validate_config
from workers.config.model import CONFIG_FILENAME
from workers.render import kustomize

FORMATS = ("text", "json", "sarif", "github")


class _Version(argparse.Action):
    """`--version`: pullpolicy's, then what renders charts and kustomizations (asked only
    here: kubectl is a process to start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=str(kwargs.get("help"))
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        kubectl = kustomize.kubectl()
        renders = "kubectl not found" if kubectl is None else kustomize.version()
        sys.stdout.write(
            f"pullpolicy {__version__}\n"
            f"charts: {_helm_version()}\n"
            f"kustomizations: {renders or f'{kubectl} (its version unknown)'}\n"
        )
        parser.exit()


def _helm_version() -> str:
    """The installed helm-python-sdk (the `render` extra), from its metadata: nothing loads."""
    try:
        return f"helm-python-sdk {metadata.version('helm-python-sdk')}"
    except metadata.PackageNotFoundError:
        return "not rendered (install pullpolicy[render])"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pullpolicy",
        description="Keep Kubernetes manifests at imagePullPolicy: Always.",
    )
    parser.add_argument(
        "--version", action=_Version, help="show the version and the rendering engines, and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="report containers lacking imagePullPolicy: Always")
    _add_scan_arguments(check)
    check.add_argument("--format", choices=FORMATS, default="text", help="output format")
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a file could not be checked (default: list it, exit 0)",
    )

    fix = commands.add_parser("fix", help="set imagePullPolicy: Always in place, byte-minimally")
    _add_scan_arguments(fix)
    fix.add_argument("--diff", action="store_true", help="print a unified diff of each change")
    fix.add_argument("--dry-run", action="store_true", help="write nothing")
    fix.add_argument("--stdout", action="store_true", help="print the fixed file (one file only)")

    validate = commands.add_parser("validate-config", help=f"validate {CONFIG_FILENAME} files")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE")

    commands.add_parser("schema", help=f"print the JSON Schema of {CONFIG_FILENAME}")

    serve = commands.add_parser("serve", help="run the webhook receiver (and, embedded, a worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    worker_choice = serve.add_mutually_exclusive_group()
    worker_choice.add_argument(
        "--with-worker", dest="with_worker", action="store_true", default=None
    )
    worker_choice.add_argument("--no-worker", dest="with_worker", action="store_false")

    worker = commands.add_parser("worker", help="run a Celery worker that performs scans")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--loglevel", default="INFO")

    once = commands.add_parser(
        "scan", help="scan one repository now (no queue), or queue a whole GitLab group"
    )
    once.add_argument("forge", choices=("github", "gitlab"))
    once.add_argument("repo", metavar="OWNER/REPO|GROUP")
    once.add_argument("--dry-run", action="store_true", help="read everything, write nothing")
    once.add_argument(
        "--group",
        action="store_true",
        help="GitLab: queue the first scan of every project in the group, subgroups included"
        " (the workers pace them on the rate limit)",
    )
    return parser


def _add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories")
    parser.add_argument(
        "--config",
        type=Path,
        help=f"configuration file (default: {CONFIG_FILENAME} at the root of each scanned tree)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with user_errors():
            return _run(args)
    except UserError as error:
        error.show(sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as error:  # a bug: its own exit code, so it never reads as findings
        print(crash_line(error), file=sys.stderr)
        return CRASH


def _run(args: argparse.Namespace) -> int:
    if args.command == "check":
        return run_check(args.paths or [Path()], args.config, args.format, strict=args.strict)
    if args.command == "fix":
        return run_fix(
            args.paths or [Path()],
            args.config,
            diff=args.diff,
            dry_run=args.dry_run,
            to_stdout=args.stdout,
        )
    if args.command == "validate-config":
        return run_validate_config(args.files or [Path(CONFIG_FILENAME)])
    if args.command == "schema":
        return run_schema()
    return _service(args)


def _service(args: argparse.Namespace) -> int:
    # Imported here: the local commands must not pay for Celery, FastAPI and forge clients.
    from workers.cli import service

    if args.command == "serve":
        return service.run_serve(args.host, args.port, with_worker=args.with_worker)
    if args.command == "worker":
        return service.run_worker(args.concurrency, args.loglevel)
    if args.group:
        return service.run_scan_group(args.forge, args.repo, dry_run=args.dry_run)
    return service.run_scan_once(args.forge, args.repo, dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
