"""Plain request/response values and a tiny path router shared by the two REST APIs."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakeforge.auth import Principal

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str  # as sent, percent-encoding intact, without the query string
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    host: str

    @property
    def origin(self) -> str:
        return f"http://{self.host}"

    @property
    def segments(self) -> list[str]:
        """Path segments, split before unquoting so that %2F stays inside its segment."""
        return [urllib.parse.unquote(s) for s in self.raw_path.split("/") if s]

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        if not self.body:
            return {}
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            return _form_to_dict(urllib.parse.parse_qs(self.body.decode(), keep_blank_values=True))
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ApiError(400, {"message": "Problems parsing JSON"}) from error

    def params(self) -> JsonObject:
        """Query and body parameters merged, the way GitLab reads them."""
        merged: JsonObject = _form_to_dict(dict(self.query))
        body = self.json()
        if isinstance(body, dict):
            merged.update(body)
        return merged


def _form_to_dict(form: Mapping[str, list[str]]) -> JsonObject:
    result: JsonObject = {}
    for key, values in form.items():
        if key.endswith("[]"):
            result[key[:-2]] = list(values)
        else:
            result[key] = values[-1]
    return result


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = json.dumps(payload).encode()
    return Response(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])


class ApiError(Exception):
    """Raised by a handler to answer with an error; `payload` is the JSON body."""

    def __init__(self, status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = list(headers)


@dataclass(frozen=True)
class ApiCall:
    request: Request
    principal: Principal | None


Handler = Callable[[ApiCall, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    """`pattern` segments: literal, "{name}" for one segment, "{name*}" for the rest (>= 1)."""

    method: str
    pattern: tuple[str, ...]
    handler: Handler
    auth: str = "token"  # "token" (user or installation), "app" (App JWT), "none"

    def match(self, method: str, segments: Sequence[str]) -> dict[str, str] | None:
        if method != self.method:
            return None
        params: dict[str, str] = {}
        for index, part in enumerate(self.pattern):
            if part.endswith("*}"):
                rest = segments[index:]
                if not rest:
                    return None
                params[part[1:-2]] = "/".join(rest)
                return params
            if index >= len(segments):
                return None
            if part.startswith("{"):
                params[part[1:-1]] = segments[index]
            elif part != segments[index]:
                return None
        return params if len(segments) == len(self.pattern) else None


def route(method: str, pattern: str, handler: Handler, auth: str = "token") -> Route:
    return Route(method, tuple(p for p in pattern.split("/") if p), handler, auth)


def find_route(
    routes: Sequence[Route], method: str, segments: Sequence[str]
) -> tuple[Route, dict[str, str]] | None:
    for candidate in routes:
        params = candidate.match(method, segments)
        if params is not None:
            return candidate, params
    return None
