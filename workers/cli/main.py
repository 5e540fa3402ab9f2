"""`pullpolicy`: check and fix manifests locally, validate configuration, print the schema.

Exit codes: 0 clean, 1 findings (check) or changes made / still needed (fix) or an invalid
config (validate-config), 2 usage or configuration errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from workers import __version__
from workers.cli.check import run_check
from workers.cli.fix import run_fix
from workers.cli.inputs import UsageError
from workers.config.loading import ConfigError, parse_config
from workers.config.model import CONFIG_FILENAME, schema_json
from workers.runtime.settings import SettingsError

FORMATS = ("text", "json", "sarif", "github")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pullpolicy",
        description="Keep Kubernetes manifests at imagePullPolicy: Always.",
    )
    parser.add_argument("--version", action="version", version=f"pullpolicy {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="report containers lacking imagePullPolicy: Always")
    _add_scan_arguments(check)
    check.add_argument("--format", choices=FORMATS, default="text", help="output format")

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

    once = commands.add_parser("scan", help="scan one repository now (no queue)")
    once.add_argument("forge", choices=("github", "gitlab"))
    once.add_argument("repo", metavar="OWNER/REPO")
    once.add_argument("--dry-run", action="store_true", help="read everything, write nothing")
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
        if args.command == "check":
            return run_check(args.paths or [Path()], args.config, args.format)
        if args.command == "fix":
            return run_fix(
                args.paths or [Path()],
                args.config,
                diff=args.diff,
                dry_run=args.dry_run,
                to_stdout=args.stdout,
            )
        if args.command == "validate-config":
            return _validate(args.files or [Path(CONFIG_FILENAME)])
        if args.command == "schema":
            sys.stdout.write(schema_json())
            return 0
        return _service(args)
    except (UsageError, SettingsError) as error:
        print(f"pullpolicy: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2


def _service(args: argparse.Namespace) -> int:
    # Imported here: the local commands must not pay for Celery, FastAPI and forge clients.
    from workers.cli import service

    if args.command == "serve":
        return service.run_serve(args.host, args.port, with_worker=args.with_worker)
    if args.command == "worker":
        return service.run_worker(args.concurrency, args.loglevel)
    return service.run_scan_once(args.forge, args.repo, dry_run=args.dry_run)


def _validate(files: Sequence[Path]) -> int:
    status = 0
    for file in files:
        try:
            parse_config(file.read_bytes(), source=str(file))
        except OSError as error:
            print(f"pullpolicy: {file}: {error.strerror}", file=sys.stderr)
            return 2
        except ConfigError as error:
            print(error, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
