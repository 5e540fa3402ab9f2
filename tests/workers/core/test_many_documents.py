"""Files of many small documents: check and fix do work and hold memory linear in the file.

No clock: work is counted as lines of our own code executed (a tracer on `workers/`), memory as
tracemalloc's peak. Matching every document against every finding made both grow with the
square of the document count (a 5 MiB file of one-line Pods never finished).
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from workers.config.model import Config
from workers.core.manifest import check_manifest

WORKERS = str(Path(__file__).resolve().parents[3] / "workers")
POD = "---\n{apiVersion: v1, kind: Pod, metadata: {name: p%d}, spec: {containers: [{image: x}]}}\n"


def pods(count: int) -> bytes:
    return "".join(POD % i for i in range(count)).encode()


def lines_executed(data: bytes, *, fix: bool) -> int:
    """Lines of `workers/` code run by one check (or fix) of `data`."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(WORKERS) else None

    sys.settrace(calls)
    try:
        report = check_manifest("pods.yaml", data, Config(), fix=fix)
    finally:
        sys.settrace(None)
    assert len(report.findings) == data.count(b"---")
    assert report.skipped is None
    assert not fix or report.fixed is not None
    return count


@pytest.mark.parametrize("fix", [False, True], ids=["check", "fix"])
def test_work_grows_linearly_with_the_number_of_documents(fix: bool) -> None:
    small = lines_executed(pods(200), fix=fix)
    large = lines_executed(pods(800), fix=fix)
    # Four times the documents: four times the work, plus a little slack for fixed costs.
    assert large <= 4.2 * small, (small, large)


@pytest.mark.parametrize("fix", [False, True], ids=["check", "fix"])
def test_memory_is_a_small_multiple_of_the_file(fix: bool) -> None:
    data = pods(3000)
    tracemalloc.start()
    try:
        check_manifest("pods.yaml", data, Config(), fix=fix)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Holding every document's nodes until the end cost ~90x the file; one chunk at a time,
    # what stays is the findings and the patched text.
    assert peak <= 40 * len(data), peak / len(data)


def test_patched_many_documents_are_all_fixed_and_the_rest_is_untouched() -> None:
    data = pods(600)
    fixed = check_manifest("pods.yaml", data, Config(), fix=True).fixed
    assert fixed is not None
    assert fixed.count(b"imagePullPolicy: Always") == 600
    assert fixed.replace(b", imagePullPolicy: Always", b"") == data
