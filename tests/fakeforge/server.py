"""The HTTP front: routing by prefix, authentication, fault injection and the request log.

/api/v3/...        GitHub REST (PyGithub base_url, like GitHub Enterprise)
/api/graphql       GitHub GraphQL: the updateRefs mutation, blob reads by object(expression:)
/gitlab/api/v4/... GitLab REST (python-gitlab url = /gitlab)
/gitlab/api/graphql GitLab GraphQL: blob reads by project { repository { blobs } }
/git/{repo}.git/.. git smart HTTP
anything else      GitHub's web pages of the App manifest flow (github_web.py), else 404
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakeforge.auth import AuthError
from tests.fakeforge.github_web import GitHubWeb
from tests.fakeforge.rate_windows import HEADER_PREFIX
from tests.fakeforge.rest_api import (
    GitHubApi,
    GitHubGraphQlApi,
    GitLabApi,
    GitLabGraphQlApi,
    RestApi,
    authenticate,
)
from tests.fakeforge.smart_http import serve_git
from tests.fakeforge.state import ForgeState
from tests.fakeforge.web import (
    ApiCall,
    ApiError,
    Request,
    Response,
    find_route,
    json_response,
)


class ForgeApplication:
    """Turns a parsed request into a response; knows nothing about sockets."""

    def __init__(self, state: ForgeState) -> None:
        self.state = state
        self.apis: list[RestApi] = [
            GitHubApi(state),
            GitLabApi(state),
            GitLabGraphQlApi(state),  # after /gitlab/api/v4: the first matching prefix wins
            GitHubGraphQlApi(state),
        ]
        self.web = GitHubWeb(state)

    def handle(self, request: Request, query: str) -> Response:
        raw_segments = [s for s in request.raw_path.split("/") if s]
        if raw_segments[:1] == ["git"]:
            path_info = request.raw_path[len("/git") :]
            with self.state.lock:
                return serve_git(self.state, request, urllib.parse.unquote(path_info), query)
        for api in self.apis:
            if tuple(raw_segments[: len(api.prefix)]) == api.prefix:
                return self._handle_api(api, request, len(api.prefix))
        page = self.web.handle(request)
        return page if page is not None else json_response(404, {"message": "Not Found"})

    def _handle_api(self, api: RestApi, request: Request, prefix_length: int) -> Response:
        with self.state.lock:
            self.state.requests.append((request.method, request.raw_path))
        fault, delay = self.state.faults.take()
        if delay:
            time.sleep(delay)  # outside the lock: other requests keep flowing
        if fault is not None:
            return api.fault(fault)
        windows = self.state.rate_windows
        limited = isinstance(api, GitHubApi) and windows.enabled
        if limited:
            credential = api.credential(request) or ""
            with self.state.lock:
                budget = self.state.auth.rate_budget(credential)
            refusal = windows.admit(budget)
            if refusal is not None:
                refused = api.error(403, "API rate limit exceeded for installation.")
                refused.headers += refusal
                return refused
        response = self._dispatch(api, request, request.segments[prefix_length:])
        if isinstance(api, GitHubApi):
            response = self._conditional(request, response)
        response.headers += api.common_headers()
        if limited:  # the window's own numbers instead of the fixed ones
            response.headers = [
                (name, value)
                for name, value in response.headers
                if not name.lower().startswith(HEADER_PREFIX)
            ] + windows.charge(budget, counted=response.status != 304)
        return response

    def _conditional(self, request: Request, response: Response) -> Response:
        """GitHub's conditional requests: a GET answer carries an ETag, and a GET whose
        `If-None-Match` still matches is answered 304 with no body (and GitHub does not count it
        against the rate limit: https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
        The tag covers the caller's credential too, as GitHub's varies on Authorization."""
        if request.method != "GET" or response.status != 200:
            return response
        tagged = hashlib.sha256(request.headers.get("authorization", "").encode() + response.body)
        etag = f'W/"{tagged.hexdigest()[:40]}"'
        if request.headers.get("if-none-match") == etag:
            with self.state.lock:
                self.state.not_modified += 1
            return Response(304, b"", [("ETag", etag)])
        response.headers.append(("ETag", etag))
        return response

    def _dispatch(self, api: RestApi, request: Request, segments: list[str]) -> Response:
        try:
            principal = authenticate(self.state, api, request)
        except AuthError as error:
            return api.error(401, str(error))
        found = find_route(api.routes, request.method, segments)
        if found is None:
            return api.error(404, "Not Found")
        route, params = found
        refusal = api.refuse(route, principal)
        if refusal is not None:
            return refusal
        try:
            with self.state.lock:
                return route.handler(ApiCall(request, principal), params)
        except ApiError as error:
            return json_response(error.status, error.payload, error.headers)
        except Exception:  # a bug in the fake: make it loud in the test output
            traceback.print_exc(file=sys.stderr)
            return api.error(500, "fakeforge internal error (see stderr)")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PyGithub and requests expect
    server: ForgeHttpServer
    timeout = 30  # idle keep-alive connections end eventually
    disable_nagle_algorithm = True  # headers and body leave at once, no delayed-ACK stalls

    def _serve(self) -> None:
        raw_path, _, query = self.path.partition("?")
        request = Request(
            method=self.command,
            raw_path=raw_path,
            query=urllib.parse.parse_qs(query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._read_body(),
            host=self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}",
        )
        response = self.server.application.handle(request, query)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the blank line after the last chunk
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log lives in ForgeState.requests."""


class ForgeHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, application: ForgeApplication, port: int = 0) -> None:
        self.application = application
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeouts in slow_next tests) is not a fake-forge bug.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """End idle keep-alive connections so their threads finish with the server."""
        with self._connections_lock:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class ServerThread:
    def __init__(self, state: ForgeState, port: int = 0) -> None:
        self.httpd = ForgeHttpServer(ForgeApplication(state), port)
        # A short poll interval keeps stop() quick: shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.02,), name="fakeforge", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.close_connections()
        self.httpd.server_close()
        self._thread.join(timeout=5)
