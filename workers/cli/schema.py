"""`pullpolicy schema`: print the JSON Schema of `.pullpolicy.yml` (for editors and CI)."""

from __future__ import annotations

import sys

from workers.cli.errors import CLEAN
from workers.config.model import schema_json


def run_schema() -> int:
    sys.stdout.write(schema_json())
    return CLEAN
