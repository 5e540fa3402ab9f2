"""JSON requests to the GitHub REST API through PyGithub's `Requester`.

The adapter works on plain JSON rather than PyGithub's objects: those complete themselves with
hidden extra requests when a field is missing, which would break the per-scan call budget.
PyGithub still provides authentication, Enterprise base URLs, throttling and retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Self
from urllib.parse import urlencode

import requests
from github import Github, GithubException
from github.Auth import Auth
from urllib3.util.retry import Retry

from workers.forge.base import RateBudget
from workers.forge.errors import http_error, transport_error

DEFAULT_API_URL = "https://api.github.com"
USER_AGENT = "pullpolicy"

# Production retries: a few, with backoff, for idempotent reads only and for connections that
# failed before a request was sent. Rate limits are not retried here: they become RateLimited
# so the job is rescheduled instead of sleeping inside a worker.
DEFAULT_READ_RETRIES = 3
ETAG_CACHE_SIZE = 1024  # answers kept for conditional requests, oldest dropped first


class CountingRetry(Retry):
    """urllib3's retry policy, reporting each extra attempt so `api_calls` includes it."""

    def __init__(self, *args: Any, on_retry: Callable[[], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.on_retry = on_retry

    def new(self, **kwargs: Any) -> Self:
        renewed = super().new(**kwargs)
        renewed.on_retry = self.on_retry
        return renewed

    def increment(self, *args: Any, **kwargs: Any) -> Self:
        renewed = super().increment(*args, **kwargs)  # raises when retries are exhausted
        if self.on_retry is not None:
            self.on_retry()
        return renewed


def read_retry(retries: int | None, on_retry: Callable[[], None]) -> CountingRetry | None:
    if not retries:
        return None
    return CountingRetry(
        total=retries,
        backoff_factor=0.5,
        backoff_max=8,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        respect_retry_after_header=False,
        on_retry=on_retry,
    )


def make_github(
    auth: Auth,
    *,
    base_url: str,
    timeout: int,
    retry: Retry | None,
    seconds_between_requests: float | None,
    seconds_between_writes: float | None,
) -> Github:
    return Github(
        auth=auth,
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        user_agent=USER_AGENT,
        retry=retry,
        seconds_between_requests=seconds_between_requests,
        seconds_between_writes=seconds_between_writes,
    )


class GitHubApi:
    """One authenticated client. `refresh` forgets a refused token so a 401 is retried once
    with a freshly minted one (safe for writes too: a 401 means nothing was done)."""

    def __init__(
        self,
        github: Github,
        *,
        clock: Callable[[], datetime],
        refresh: Callable[[], None] | None = None,
    ) -> None:
        self._requester = github.requester
        self._clock = clock
        self._refresh = refresh
        # GET path and query -> (ETag, headers, answer) of the last answer to it
        self._etags: dict[str, tuple[str, dict[str, Any], Any]] = {}
        self.not_modified = 0  # 304 answers: sent, but not counted by GitHub

    @property
    def rate_budget(self) -> RateBudget | None:
        """From the last answer's x-ratelimit-* headers (PyGithub keeps them), if any."""
        remaining, limit = (int(n) for n in self._requester.rate_limiting)
        if remaining < 0:
            return None
        return RateBudget(remaining, limit, float(self._requester.rate_limiting_resettime))

    def call(
        self,
        verb: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        return self._call(verb, path, params, body)[1]

    def query(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """One GraphQL query through PyGithub's own `graphql_query`; its `data`. Errors in the
        answer raise (NotFound when GitHub says the one thing asked for does not exist)."""
        operation = "POST graphql"
        for attempt in (1, 2):
            try:
                data = self._requester.graphql_query(query, dict(variables))[1]
            except GithubException as exc:
                if exc.status == 401 and self._refresh is not None and attempt == 1:
                    self._refresh()
                    continue
                raise _translate(exc, operation, self._clock()) from exc
            except requests.RequestException as exc:
                raise transport_error("github", operation, exc) from exc
            answer: dict[str, Any] = data.get("data") or {}
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def conditional_get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """A GET sent with the ETag of the last answer to it: when nothing changed GitHub
        answers 304, which does not count against the rate limit, and the kept answer is used.
        https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
        """
        return self._conditional(path, params)[1]

    def _conditional(
        self, path: str, params: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], Any]:
        key = f"{path}?{urlencode(sorted((params or {}).items()))}"
        kept = self._etags.get(key)
        headers = {"If-None-Match": kept[0]} if kept else None
        answer_headers, data = self._call("GET", path, params, None, headers=headers)
        if data is None and kept is not None:  # 304 Not Modified: an empty body
            self.not_modified += 1
            return kept[1], kept[2]
        etag = answer_headers.get("etag")
        if etag:
            self._etags.pop(key, None)  # re-inserted last: the oldest goes first
            self._etags[key] = (str(etag), answer_headers, data)
            while len(self._etags) > ETAG_CACHE_SIZE:
                self._etags.pop(next(iter(self._etags)))
        return answer_headers, data

    def graphql(
        self, query: str, variables: Mapping[str, Any], *, accept: str | None = None
    ) -> dict[str, Any]:
        """One GraphQL request; its answer as sent, `errors` included (GraphQL refuses with
        a 200 and says why in them). `accept` names a schema preview the query needs."""
        body = {"query": query, "variables": dict(variables)}
        url = self._requester.graphql_url
        headers = {"Accept": accept} if accept else None
        _, data = self._call("POST", url, None, body, "POST graphql", headers=headers)
        answer: dict[str, Any] = data
        return answer

    def pages(
        self, path: str, params: Mapping[str, Any], *, conditional: bool = False
    ) -> Iterator[Any]:
        """Every item of a paginated list, following `Link: rel="next"`; `conditional` sends
        each page as a conditional request (see `conditional_get`)."""
        url: str | None = path
        query: Mapping[str, Any] | None = params
        while url is not None:
            if conditional:
                headers, data = self._conditional(url, query)
            else:
                headers, data = self._call("GET", url, query, None)
            yield from data
            url, query = _next_link(headers), None

    def _call(
        self,
        verb: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        operation: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], Any]:
        operation = operation or f"{verb} {path.split('?')[0]}"
        for attempt in (1, 2):
            try:
                return self._requester.requestJsonAndCheck(
                    verb,
                    path,
                    parameters=dict(params) if params else None,
                    headers=headers,
                    input=dict(body) if body is not None else None,
                )
            except GithubException as exc:
                if exc.status == 401 and self._refresh is not None and attempt == 1:
                    self._refresh()
                    continue
                raise _translate(exc, operation, self._clock()) from exc
            except requests.RequestException as exc:
                raise transport_error("github", operation, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _translate(exc: GithubException, operation: str, now: datetime) -> Exception:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "")
    details = [str(e.get("message", "")) for e in data.get("errors", []) if isinstance(e, dict)]
    if details:
        message = f"{message} ({'; '.join(d for d in details if d)})"
    return http_error("github", operation, exc.status, exc.headers or {}, message, now)


def _next_link(headers: Mapping[str, Any]) -> str | None:
    link = headers.get("link")
    if not link:
        return None
    for item in requests.utils.parse_header_links(str(link)):
        if item.get("rel") == "next":
            return item.get("url")
    return None
