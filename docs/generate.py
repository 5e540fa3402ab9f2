"""Write the generated documentation: `make docs` (or `python docs/generate.py [--check]`).

    docs/configuration.md   every `.pullpolicy.yml` key, from the model and its JSON Schema
    docs/settings.md        every PULLPOLICY_* variable, from the Settings model
    docs/sample-pr.md       the pull request the bot opens for examples/demo

`--check` writes nothing and exits 1 when a committed page differs from what the code renders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: `docs` must import as a package
    sys.path.insert(0, str(REPO_ROOT))

from docs.reference import configuration_reference, settings_reference  # noqa: E402
from docs.sample_pr import sample_pr_page  # noqa: E402

REFRESH_COMMAND = "make docs"
PAGES: dict[str, Callable[[], str]] = {
    "docs/configuration.md": configuration_reference,
    "docs/settings.md": settings_reference,
    "docs/sample-pr.md": sample_pr_page,
}


def render_pages() -> dict[str, str]:
    """Repository-relative path -> the page's content as the code renders it now."""
    return {path: render() for path, render in PAGES.items()}


def stale_pages(root: Path = REPO_ROOT) -> list[str]:
    """The generated pages whose committed copy differs from what the code renders."""
    return [
        path
        for path, text in render_pages().items()
        if not (root / path).is_file() or (root / path).read_bytes() != text.encode()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the generated documentation pages.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages()
        for path in stale:
            print(f"{path} is stale; run `{REFRESH_COMMAND}`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in render_pages().items():
        target = REPO_ROOT / path
        if not target.is_file() or target.read_bytes() != text.encode():
            target.write_bytes(text.encode())
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
