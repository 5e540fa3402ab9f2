"""What the CLI tells a user (or a script) when it stops: one base, `UserError`, carries the exit
code and prints `pullpolicy: ` before each line; anything else is a crash with its own code.

Exit codes, the same for every command (README, "The CLI"):
0 nothing to report, 1 findings or changes (made, or still needed), 2 the command cannot run
as asked (usage, configuration or settings errors), 3 a crash (a bug in pullpolicy),
130 interrupted. Scripts and pre-commit can tell "the manifests need work" (1) from "fix the
invocation" (2) and "report a bug" (3).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from workers import __version__
from workers.config.loading import ConfigError
from workers.runtime.settings import SettingsError

PREFIX = "pullpolicy: "
CLEAN = 0
FINDINGS = 1
INVALID = 2
CRASH = 3
INTERRUPTED = 130  # 128 + SIGINT, as shells report it
ISSUES_URL = "https://github.com/pullpolicy/pullpolicy/issues"


class UserError(Exception):
    """An error the user can act on; `str()` is the message, without the prefix."""

    exit_code = INVALID

    def show(self, stream: TextIO) -> None:
        for line in str(self).splitlines() or [""]:
            stream.write(f"{PREFIX}{line}\n")


class UsageError(UserError):
    """The command line asks for something impossible (a missing path, a bad combination)."""


class InvalidConfig(UserError):
    """A `.pullpolicy.yml` is invalid: one `FILE:LINE: key: message` line per issue."""


class InvalidSettings(UserError):
    """PULLPOLICY_* environment variables are invalid, or the forge they name is incomplete."""


class ForgeFailed(UserError):
    """`pullpolicy scan`: the forge refused or failed the scan (not found, no access, rate
    limited, unreachable). Adapter messages never hold tokens (workers/forge/base.py)."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors of the rooms below (which know nothing of the CLI) into user errors."""
    try:
        yield
    except ConfigError as error:
        raise InvalidConfig(str(error)) from None
    except SettingsError as error:
        raise InvalidSettings(str(error)) from None


def crash_line(error: BaseException) -> str:
    """One line for a crash: the version, the exception type and where it was raised. The
    exception's message is left out: it may quote a secret (a token in a URL, a header)."""
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {_short(last.filename)}:{last.lineno}"
    python = ".".join(str(part) for part in sys.version_info[:3])
    return (
        f"{PREFIX}internal error in pullpolicy {__version__} (Python {python}): "
        f"{type(error).__name__}{where}; please report it at {ISSUES_URL}"
    )


def _short(filename: str) -> str:
    """The path from the directory holding the `workers` package, never a machine's own
    directories (a user pastes this line into a public issue)."""
    root = Path(__file__).resolve().parents[2]
    path = Path(filename).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
