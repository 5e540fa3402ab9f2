"""Helm's own engine (helm-python-sdk, Helm v4's Go SDK) in a child process, as a `Render`.

One child serves a whole scan (its start, ~0.2 s, is paid once); each render materialises the
chart's files in a fresh private directory. A render that outlives TIMEOUT_SECONDS or answers
more than MAX_OUTPUT_BYTES kills the child (the next render starts another) and fails.
"""

from __future__ import annotations

import functools
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from workers.core.renders import RenderFailed
from workers.render.files import materialise, safe_relative

TIMEOUT_SECONDS = 30.0
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
CHILD = "workers.render.helm_child"


def available() -> bool:
    """Whether Helm's engine is installed (the `render` extra), without loading it."""
    import importlib.util

    return importlib.util.find_spec("helm_python") is not None


@functools.cache
def version() -> str:
    """The installed helm-python-sdk's version, from its metadata (nothing is loaded)."""
    from importlib import metadata

    try:
        return metadata.version("helm-python-sdk")
    except metadata.PackageNotFoundError:
        return "not installed"


class HelmEngine:
    """`engine(files, chart_root)` -> {repository path of the template: rendered text}."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        self._child: subprocess.Popen[bytes] | None = None

    def __call__(self, files: Mapping[str, bytes], root: str) -> dict[str, str]:
        with tempfile.TemporaryDirectory(prefix="pullpolicy-helm-") as scratch:
            base = Path(scratch)
            materialise(files, base)
            directory = base.joinpath(*safe_relative(root).split("/")) if root else base
            if not directory.joinpath("Chart.yaml").is_file():
                raise RenderFailed("no Chart.yaml")
            answer = self._ask({"chart": str(directory)})
        if "error" in answer:
            raise RenderFailed(_public(str(answer["error"]), scratch))
        rendered = answer.get("rendered")
        if not isinstance(rendered, dict):
            raise RenderFailed("the engine gave no render")
        return {_repository_path(root, name): str(text) for name, text in rendered.items()}

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> HelmEngine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _ask(self, request: dict[str, str]) -> dict[str, object]:
        child = self._started()
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            child.stdin.flush()
            line = _read_line(child.stdout, self._timeout)
        except (OSError, RenderFailed) as error:
            self.close()  # a stuck or dead child is never reused
            message = str(error) if isinstance(error, RenderFailed) else "the engine stopped"
            raise RenderFailed(message) from None
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise RenderFailed("the engine gave no render")
        return answer

    def _started(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # Go's warnings
                env={**os.environ, "HELM_CACHE_HOME": tempfile.gettempdir()},
            )
        return self._child


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    """One answer line within `timeout` seconds and MAX_OUTPUT_BYTES."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise RenderFailed(f"the render took longer than {timeout:g} s")
            chunk = os.read(stream.fileno(), 1 << 16)
            if not chunk:
                raise RenderFailed("the engine stopped")
            chunks.append(chunk)
            size += len(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)
            if size > MAX_OUTPUT_BYTES:
                raise RenderFailed(f"the render is larger than {MAX_OUTPUT_BYTES >> 20} MiB")


MAX_MESSAGE_CHARS = 400


def _public(message: str, scratch: str) -> str:
    """Helm's message on one line (its first line is often only a location), without the
    temporary directory's path."""
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    text = text.replace(scratch + "/", "").replace(scratch, ".") or "the render failed"
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _repository_path(root: str, name: str) -> str:
    """Helm names outputs `<chart name>/templates/...`: the chart's directory replaces it."""
    rest = name.split("/", 1)[1] if "/" in name else name
    return f"{root}/{rest}" if root else rest
