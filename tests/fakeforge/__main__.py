"""Run the fake forge as a process for end-to-end tests.

    python -m tests.fakeforge --port 0 --root DIR [--seed owner/name=DIR] [--token T]
        [--app ID=PUBLIC_KEY_PEM_FILE] [--installation ID=owner/name[,owner/name...]]

The first stdout line is the base URL (http://127.0.0.1:PORT); it serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from tests.fakeforge.forge import FakeForge


def _pair(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeforge", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--root", type=Path, required=True, help="where bare repos are kept")
    parser.add_argument("--seed", type=_pair, action="append", default=[], metavar="OWNER/NAME=DIR")
    parser.add_argument("--token", action="append", default=[], help="accepted API token")
    parser.add_argument("--app", type=_pair, action="append", default=[], metavar="ID=PEM")
    parser.add_argument(
        "--installation", type=_pair, action="append", default=[], metavar="ID=REPOS"
    )
    return parser


def _directory_files(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(directory).parts
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    forge = FakeForge(args.root, port=args.port)
    for full_name, directory in args.seed:
        forge.create_repo(full_name, _directory_files(Path(directory)))
    for token in args.token:
        forge.add_token(token)
    for app_id, pem_path in args.app:
        forge.register_app(int(app_id), Path(pem_path).read_bytes())
    for installation_id, repos in args.installation:
        forge.add_installation(int(installation_id), repos.split(","))
    stopped = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    forge.start()
    print(forge.url, flush=True)
    try:
        stopped.wait()
    finally:
        forge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
