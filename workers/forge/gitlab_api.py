"""Typed requests to the GitLab v4 API through python-gitlab's `Gitlab.http_request`.

python-gitlab's object managers are only partly typed; everything here goes through the one
typed entry point and returns plain JSON or bytes. Its own retries are bounded: reads may retry
transient errors, writes never, and a 429 is never slept on (it becomes `RateLimited`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import requests
from gitlab import Gitlab
from gitlab.exceptions import GitlabError

from workers.forge.base import RateBudget
from workers.forge.errors import http_error, transport_error

USER_AGENT = "pullpolicy"


class GitLabApi:
    """One authenticated client for a GitLab instance (gitlab.com or self-managed).

    `token` is a personal, project or group access token (sent as PRIVATE-TOKEN).
    `on_request` is told about every HTTP request, retries included.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float,
        retry_transient_errors: bool,
        max_retries: int,
        on_request: Callable[[], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._on_request = on_request
        self._clock = clock
        self.rate_budget: RateBudget | None = None  # GitLab sends it where limits apply
        self._retry_reads = retry_transient_errors
        self._max_retries = max_retries
        # python-gitlab's errors drop the response headers, yet a 429 names its retry time
        # only there: the session hook keeps the last ones (per thread).
        self._last = threading.local()
        session = _ObservedSession(self._sending, self._received)
        self._gitlab = Gitlab(
            url.rstrip("/"),
            private_token=token,
            timeout=timeout,
            user_agent=USER_AGENT,
            retry_transient_errors=False,
            session=session,
        )

    def _sending(self) -> None:
        self._on_request()

    def _received(self, response: requests.Response) -> None:
        self._last.headers = dict(response.headers)
        # https://docs.gitlab.com/security/rate_limits/#headers
        remaining = response.headers.get("RateLimit-Remaining", "")
        limit = response.headers.get("RateLimit-Limit", "")
        reset = response.headers.get("RateLimit-Reset", "")
        if remaining.isdigit():
            self.rate_budget = RateBudget(
                int(remaining),
                int(limit) if limit.isdigit() else int(remaining),
                float(reset) if reset.isdigit() else 0.0,
            )

    def call(
        self,
        verb: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        response = self.response(verb, path, params=params, body=body)
        return response.json() if response.content else None  # DELETE answers 204, no body

    def graphql(self, query: str, variables: Mapping[str, Any]) -> Any:
        """One GraphQL request to the instance's /api/graphql; its answer as sent (GraphQL
        refuses with a 200 and says why in `errors`)."""
        url = f"{self._gitlab.url}/api/graphql"
        body = {"query": query, "variables": dict(variables)}
        return self.call("post", url, body=body)

    def raw(self, path: str, params: Mapping[str, Any]) -> bytes:
        return self.response("get", path, params=params).content

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """Every item of a paginated list, following `Link: rel="next"`."""
        response = self.response("get", path, params=params)
        while True:
            yield from response.json()
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            response = self.response("get", next_url)

    def response(
        self,
        verb: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        operation = f"{verb.upper()} {path.split('?')[0]}"
        self._last.headers = {}
        try:
            return self._gitlab.http_request(
                verb,
                path,
                query_data=dict(params) if params else None,
                post_data=dict(body) if body is not None else None,
                obey_rate_limit=False,
                retry_transient_errors=self._retry_reads and verb == "get",
                max_retries=self._max_retries,
            )
        except GitlabError as exc:
            headers: dict[str, str] = getattr(self._last, "headers", {})
            status = exc.response_code or 0
            raise http_error(
                "gitlab", operation, status, headers, str(exc.error_message), self._clock()
            ) from exc
        except requests.RequestException as exc:
            raise transport_error("gitlab", operation, exc) from exc


class _ObservedSession(requests.Session):
    """Reports each request as it is sent (retries and timeouts included) and each answer."""

    def __init__(
        self, sending: Callable[[], None], received: Callable[[requests.Response], None]
    ) -> None:
        super().__init__()
        self._sending = sending
        self._received = received

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self._sending()
        response = super().send(request, **kwargs)
        self._received(response)
        return response
