"""Render a kustomization with `kubectl kustomize`, over only the files it is given.

The files are written into a fresh temporary directory (regular files only, paths checked to
stay inside it) and kubectl runs there with kustomize's defaults: no Helm, no exec plugins,
the root-only load restrictor. Remote bases are refused before kubectl starts, and the process
gets no proxy or git transport that could reach the network anyway. A time limit, an address
space limit and a file size limit on its output bound what one render may cost.
"""

from __future__ import annotations

import os
import posixpath
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from workers.core.kustomizations import (
    BadKustomization,
    is_remote,
    kustomization_file,
    load_kustomization,
)
from workers.core.renders import RenderFailed
from workers.render.files import materialise

KUBECTL = "kubectl"
TIME_LIMIT_SECONDS = 60.0
MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024  # address space: Go reserves ~1 GiB up front
OUTPUT_LIMIT_BYTES = 64 * 1024 * 1024
ERROR_LIMIT_CHARS = 2000
# klog's prefix on kubectl's error line: `E1206 17:53:40.007094   14333 run.go:72] `.
KLOG_PREFIX = re.compile(r"^[EWIF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] ", re.MULTILINE)
REMOTE_FIELDS = ("resources", "bases", "components")


def kubectl() -> str | None:
    """The kubectl to run: the one beside this Python first (the `render` extra installs the
    locked version into the virtualenv's bin), else the first on the PATH."""
    beside = Path(sys.executable).parent / KUBECTL  # not resolved: a venv's python is a link
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(KUBECTL)


def available() -> bool:
    """Whether a kubectl is found (without it nothing is rendered, and the caller says so)."""
    return kubectl() is not None


def version() -> str | None:
    """kubectl's and its kustomize's versions, as `kubectl version --client` says them."""
    program = kubectl()
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "version", "--client"],
            capture_output=True,
            timeout=TIME_LIMIT_SECONDS,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir()},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    words = [line.split(":", 1)[1].strip() for line in lines if ":" in line]
    if done.returncode != 0 or len(words) < 2:
        return None
    return f"kubectl {words[0]}, kustomize {words[1]}"


def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
    """{root: the rendered stream} for the kustomization in `root`; RenderFailed otherwise."""
    _refuse_remote(files)
    if kustomization_file(root, frozenset(files)) is None:
        raise RenderFailed(f"no kustomization in {root or '.'}")
    with tempfile.TemporaryDirectory(prefix="pullpolicy-kustomize-") as temporary:
        base = Path(temporary)
        tree = base / "tree"
        tree.mkdir()
        materialise(files, tree)
        output = base / "rendered.yaml"
        target = tree / root if root else tree
        text = _run(target, output, base)
    return {root: text}


def _refuse_remote(files: Mapping[str, bytes]) -> None:
    """A remote base is never fetched: no network from a scan, and no code from elsewhere."""
    for path, data in sorted(files.items()):
        if not _is_kust(path):
            continue
        try:
            content = load_kustomization(data)
        except BadKustomization:
            continue  # kustomize reports it with its own message
        for name in REMOTE_FIELDS:
            entries = content.get(name)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, str) and is_remote(entry):
                    local = posixpath.normpath(posixpath.join(posixpath.dirname(path), entry))
                    if not any(p == local or p.startswith(local + "/") for p in files):
                        raise RenderFailed(f"remote base {entry} not fetched")


def _is_kust(path: str) -> bool:
    return kustomization_file(posixpath.dirname(path), frozenset({path})) == path


def _limits() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT_BYTES, OUTPUT_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _environment(home: Path) -> dict[str, str]:
    """Nothing of the caller's environment but PATH: no kubeconfig, no credentials; proxies
    that lead nowhere and no git transport, in case anything still tries the network."""
    dead = "http://127.0.0.1:9"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KUBECONFIG": str(home / "no-kubeconfig"),
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "http_proxy": dead,
        "https_proxy": dead,
        "NO_PROXY": "",
        "GIT_ALLOW_PROTOCOL": "none",
        "GIT_TERMINAL_PROMPT": "0",
        "GOMEMLIMIT": str(MEMORY_LIMIT_BYTES // 2),
    }


def _run(target: Path, output: Path, home: Path) -> str:
    command = [kubectl() or KUBECTL, "kustomize", str(target)]
    try:
        with output.open("wb") as stdout:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.PIPE,
                cwd=home,
                env=_environment(home),
                preexec_fn=_limits,
                start_new_session=True,  # a timeout kills kubectl and anything it started
            )
            try:
                _, stderr = process.communicate(timeout=TIME_LIMIT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise RenderFailed(
                    f"kustomize took longer than {TIME_LIMIT_SECONDS:.0f} s"
                ) from None
    except FileNotFoundError:
        raise RenderFailed(f"{KUBECTL} is not installed") from None
    size = output.stat().st_size
    if size >= OUTPUT_LIMIT_BYTES:
        raise RenderFailed(f"kustomize output over {OUTPUT_LIMIT_BYTES} bytes")
    if process.returncode != 0:
        raise RenderFailed(_message(stderr.decode("utf-8", "replace"), home))
    return output.read_bytes().decode("utf-8", "replace")


def _message(stderr: str, home: Path) -> str:
    """kubectl's error, without klog's prefix or our temporary paths."""
    text = KLOG_PREFIX.sub("", stderr).strip()
    for prefix in (str(home / "tree") + "/", str(home / "tree"), str(home)):
        text = text.replace(prefix, "")
    text = text.replace('command failed" err=', "")
    # kustomize's deprecation warnings (`# Warning: 'bases' is deprecated...`) are not the error.
    lines = [line.strip() for line in text.splitlines() if not line.startswith("# Warning:")]
    text = " ".join(line for line in lines if line not in ("", "<", ">")).strip('"')
    if len(text) > ERROR_LIMIT_CHARS:
        text = text[:ERROR_LIMIT_CHARS] + "..."
    return text or "kustomize failed without a message"
