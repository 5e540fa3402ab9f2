"""`pullpolicy validate-config`: report every issue of each `.pullpolicy.yml` given."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from workers.cli.errors import CLEAN, InvalidConfig, UsageError
from workers.config.loading import ConfigError, parse_config


def run_validate_config(files: Sequence[Path]) -> int:
    """Exit code 2 (INVALID) when any file is invalid, as `check` and `fix` for the same file;
    every file is still validated, so one run lists every issue."""
    status = CLEAN
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise UsageError(f"{file}: {error.strerror}") from None
        try:
            parse_config(data, source=str(file))
        except ConfigError as error:
            invalid = InvalidConfig(str(error))
            invalid.show(sys.stderr)
            status = invalid.exit_code
    return status
