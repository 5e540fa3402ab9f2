"""git smart HTTP (clone, fetch, push) through `git http-backend` as a CGI program.

Anonymous access is allowed so a test can push "like a human"; credentials, when sent
(Basic auth with a token as the password), must be valid and see the repository.
"""

from __future__ import annotations

import base64
import binascii
import os
import subprocess

from tests.fakeforge.auth import AuthError
from tests.fakeforge.state import ForgeState
from tests.fakeforge.web import Request, Response

_ISOLATED_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def _repo_name(path_info: str) -> str | None:
    """ "/owner/name.git/info/refs" -> "owner/name"."""
    head, separator, _rest = path_info.partition(".git/")
    return head.strip("/") if separator else None


def _basic_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def _unauthorized() -> Response:
    return Response(
        401,
        b"Authentication failed\n",
        [("WWW-Authenticate", 'Basic realm="fakeforge"'), ("Content-Type", "text/plain")],
    )


def serve_git(state: ForgeState, request: Request, path_info: str, query: str) -> Response:
    full_name = _repo_name(path_info)
    if full_name is None or state.repo(full_name) is None:
        return Response(404, b"Repository not found\n", [("Content-Type", "text/plain")])
    token = _basic_token(request)
    user = "anonymous"
    if token is not None:
        try:
            principal = state.auth.authenticate(token)
        except AuthError:
            return _unauthorized()
        if not principal.can_see(full_name):
            return _unauthorized()
        user = principal.login
    env = {
        **os.environ,
        **_ISOLATED_ENV,
        "GIT_PROJECT_ROOT": str(state.root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "REMOTE_USER": user,
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_PROTOCOL": request.headers.get("git-protocol", ""),
        "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
    }
    proc = subprocess.run(
        ["git", "http-backend"], input=request.body, capture_output=True, env=env, check=False
    )
    return _parse_cgi(proc.stdout)


def _parse_cgi(output: bytes) -> Response:
    head, _, body = output.partition(b"\r\n\r\n")
    if not _:
        head, _, body = output.partition(b"\n\n")
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode(errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return Response(status, body, headers)
