"""FakeForge: the test-facing handle on a running fake forge (seeding, inspection, faults)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.fakeforge.app_manifests import (
    WEB_USER,
    CreatedApp,
    PendingManifest,
    manifest_problems,
)
from tests.fakeforge.faults import Fault
from tests.fakeforge.records import ChangeRequestRecord, DiffComment
from tests.fakeforge.server import ServerThread
from tests.fakeforge.state import HUMAN, ForgeState

DEFAULT_LOGIN = "pullpolicy-bot"


class FakeForge:
    """A GitHub + GitLab + git smart HTTP server on 127.0.0.1 backed by bare repositories.

    Seeding and inspection methods act directly on the state: they are not API calls and do
    not appear in `requests`.
    """

    def __init__(self, root: Path, port: int = 0) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._state = ForgeState(root)
        self._port = port
        self._server: ServerThread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._server is None:
            self._server = ServerThread(self._state, self._port)
            self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeForge:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeForge.start() first")
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def github_api_url(self) -> str:
        return f"{self.url}/api/v3"

    @property
    def gitlab_url(self) -> str:
        return f"{self.url}/gitlab"

    def git_url(self, full_name: str) -> str:
        return f"{self.url}/git/{full_name}.git"

    @property
    def root(self) -> Path:
        return self._state.root

    # -- seeding and inspection -------------------------------------------------------------------

    def create_repo(
        self, full_name: str, files: Mapping[str, bytes | str], default_branch: str = "main"
    ) -> str:
        with self._state.lock:
            return self._state.create_repo(full_name, files, default_branch)

    def gitlab_project_id(self, full_name: str) -> int:
        with self._state.lock:
            return self._state.require_repo(full_name).project_id

    def push_commit(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, bytes | str | None],
        message: str,
        author: tuple[str, str] = HUMAN,
        parent: str | None = None,
        *,
        orphan: bool = False,
    ) -> str:
        """A commit on `parent` (default: the branch's head, else the default branch's), or
        with no parent at all when `orphan`, force-pushed to `branch`."""
        with self._state.lock:
            return self._state.push_commit(
                full_name, branch, files, message, author, parent, orphan=orphan
            )

    def tag(self, full_name: str, name: str, sha: str) -> None:
        """A lightweight tag `name` at `sha` (a name git resolves before a branch's)."""
        with self._state.lock:
            self._state.require_repo(full_name).bare.update_ref(f"refs/tags/{name}", sha, None)

    def protect_branch(self, full_name: str, branch: str, *, ruleset: bool = False) -> None:
        """Give `branch` a protection rule, or on GitHub make it the target of a ruleset (the
        APIs then show it as protected)."""
        with self._state.lock:
            repo = self._state.require_repo(full_name)
            (repo.ruleset_protected if ruleset else repo.protected).add(branch)

    def branch_head(self, full_name: str, branch: str) -> str | None:
        with self._state.lock:
            return self._state.require_repo(full_name).branch_head(branch)

    def read(self, full_name: str, ref: str, path: str) -> bytes | None:
        with self._state.lock:
            return self._state.require_repo(full_name).bare.read_path(ref, path)

    def files(self, full_name: str, ref: str) -> dict[str, bytes]:
        with self._state.lock:
            return self._state.require_repo(full_name).bare.files(ref)

    def commit_parents(self, full_name: str, sha: str) -> list[str]:
        with self._state.lock:
            info = self._state.require_repo(full_name).bare.commit_info(sha)
        if info is None:
            raise KeyError(f"no commit {sha!r} in {full_name!r}")
        return list(info.parents)

    def commit_message(self, full_name: str, sha: str) -> str:
        with self._state.lock:
            info = self._state.require_repo(full_name).bare.commit_info(sha)
        if info is None:
            raise KeyError(f"no commit {sha!r} in {full_name!r}")
        return info.message

    def change_requests(self, full_name: str) -> list[ChangeRequestRecord]:
        with self._state.lock:
            records = self._state.require_repo(full_name).records.change_requests
            return [change.snapshot() for _, change in sorted(records.items())]

    def merge(self, full_name: str, number: int) -> None:
        with self._state.lock:
            self._state.merge(full_name, number)

    def close(self, full_name: str, number: int) -> None:
        with self._state.lock:
            change = self._state.change_request(full_name, number)
            if change.state == "open":
                change.close()

    def check_runs(self, full_name: str) -> list[dict[str, Any]]:
        with self._state.lock:
            runs = self._state.require_repo(full_name).records.check_runs
            return [run.as_dict() for _, run in sorted(runs.items())]

    def statuses(self, full_name: str) -> list[dict[str, Any]]:
        with self._state.lock:
            return [s.as_dict() for s in self._state.require_repo(full_name).records.statuses]

    # -- people's pull requests and reviews -------------------------------------------------------

    def open_pull(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, bytes | str | None],
        author: str = "octocat",
        *,
        fork: str | None = None,
        draft: bool = False,
    ) -> int:
        """A person's pull request of one commit on the default branch (from `fork`: its
        head kept here under refs/pull/N/head); returns its number."""
        with self._state.lock:
            return self._state.open_pull(full_name, branch, files, author, fork, draft)

    def push_to_pull(
        self, full_name: str, number: int, files: Mapping[str, bytes | str | None], message: str
    ) -> str:
        with self._state.lock:
            return self._state.push_to_pull(full_name, number, files, message)

    def pull_head(self, full_name: str, number: int) -> str:
        with self._state.lock:
            change = self._state.change_request(full_name, number)
            return self._state.require_repo(full_name).live_head(change)

    def commit_suggestion(self, full_name: str, number: int, comment_id: int) -> str:
        """What "Commit suggestion" does: the comment's suggested lines, committed."""
        with self._state.lock:
            return self._state.commit_suggestion(full_name, number, comment_id)

    def diff_comments(self, full_name: str, number: int) -> list[DiffComment]:
        """Review comments (GitHub) or diff discussion notes (GitLab), oldest first (copies)."""
        with self._state.lock:
            change = self._state.change_request(full_name, number)
            return [replace(comment) for comment in change.diff_comments]

    def reviews(self, full_name: str, number: int) -> list[tuple[str, str]]:
        """(state, body) of each review submitted on a pull request."""
        with self._state.lock:
            change = self._state.change_request(full_name, number)
            return [(review.state, review.body) for review in change.reviews]

    def dismiss_review(self, full_name: str, number: int, index: int = 0) -> None:
        """A person dismisses the `index`th review of a pull request (seeding: not an API
        call); as on GitHub, only one that approves or requests changes."""
        with self._state.lock:
            review = self._state.change_request(full_name, number).reviews[index]
            if review.state not in ("APPROVED", "CHANGES_REQUESTED"):
                raise ValueError(f"a {review.state} review cannot be dismissed")
            review.state = "DISMISSED"

    def reply_to_comment(self, full_name: str, number: int, comment_id: int, body: str) -> None:
        """A person answers a diff comment (seeding: not an API call)."""
        with self._state.lock:
            change = self._state.change_request(full_name, number)
            parent = next(c for c in change.diff_comments if c.id == comment_id)
            self._state.user_id("octocat")
            change.diff_comments.append(
                replace(
                    parent,
                    id=self._state.ids.next(),
                    author="octocat",
                    body=body,
                    in_reply_to=parent.in_reply_to or parent.id,
                )
            )

    # -- credentials ----------------------------------------------------------------------------

    def add_token(self, token: str, login: str = DEFAULT_LOGIN) -> None:
        """A personal token acting as `login` on both APIs (GitHub token/Bearer, GitLab)."""
        with self._state.lock:
            self._state.auth.add_token(token, login)
            self._state.user_id(login)

    def add_user(self, login: str) -> int:
        """Make a user known (GitLab reviewer/assignee ids); returns its id."""
        with self._state.lock:
            return self._state.user_id(login)

    def register_app(self, app_id: int, public_key_pem: bytes) -> None:
        with self._state.lock:
            self._state.auth.register_app(app_id, public_key_pem)

    def add_installation(self, installation_id: int, full_names: Sequence[str]) -> None:
        with self._state.lock:
            self._state.auth.add_installation(installation_id, full_names)

    def expire_tokens(self) -> None:
        with self._state.lock:
            self._state.auth.expire_tokens()

    # -- the App manifest flow (github_web.py) ---------------------------------------------------

    @property
    def web_url(self) -> str:
        """Where the fake GitHub's web pages live (Settings.github_web_url)."""
        return self.url

    def manifest_apps(self) -> list[CreatedApp]:
        """Apps registered through the manifest flow, oldest first."""
        with self._state.lock:
            return [app for _, app in sorted(self._state.manifests.apps.items())]

    def create_manifest_app(
        self, manifest: dict[str, Any], *, organization: str | None = None
    ) -> tuple[CreatedApp, str]:
        """What "Create GitHub App" on the confirmation page does, without the pages: the App
        and its one-time conversion code. ValueError lists what GitHub would refuse."""
        problems = manifest_problems(manifest)
        if problems:
            raise ValueError("; ".join(problems))
        pending = PendingManifest(
            manifest,
            organization or WEB_USER,
            "Organization" if organization else "User",
            None,
        )
        with self._state.lock:
            name = str(manifest.get("name") or "app")
            app, code = self._state.manifests.create(self._state.ids.next(), pending, name)
            self._state.auth.register_app(app.id, app.public_pem)
            return app, code

    def expire_manifest_codes(self) -> None:
        """As if an hour passed: every conversion code is refused from now on."""
        with self._state.lock:
            self._state.manifests.expire_codes()

    def installations_of(self, app_id: int) -> dict[int, tuple[str, ...]]:
        with self._state.lock:
            installations = self._state.auth.installations.values()
            return {i.id: i.repos for i in installations if i.app_id == app_id}

    # -- faults and cost -------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        retry_after: int | None = None,
        ratelimit_reset: int | None = None,
        body: str | None = None,
    ) -> None:
        self._state.faults.fail_next(count, Fault(status, retry_after, ratelimit_reset, body))

    def limit_rate(self, limit: int | None, window_seconds: float = 3600.0) -> None:
        """GitHub's primary rate limit per credential: `limit` requests per window (None: off)."""
        self._state.rate_windows.configure(limit, window_seconds)

    @property
    def rate_limited(self) -> int:
        """Requests refused for the primary rate limit since `limit_rate`."""
        return self._state.rate_windows.refused

    @property
    def rate_counted(self) -> int:
        """Requests counted against a rate-limit window since `limit_rate`."""
        return self._state.rate_windows.counted

    def slow_next(self, count: int, seconds: float) -> None:
        self._state.faults.slow_next(count, seconds)

    @property
    def page_size_cap(self) -> int | None:
        return self._state.page_size_cap

    @page_size_cap.setter
    def page_size_cap(self, cap: int | None) -> None:
        with self._state.lock:
            self._state.page_size_cap = cap

    @property
    def truncate_trees(self) -> bool:
        return self._state.truncate_trees

    @truncate_trees.setter
    def truncate_trees(self, enabled: bool) -> None:
        with self._state.lock:
            self._state.truncate_trees = enabled

    @property
    def graphql_text_limit(self) -> int:
        return self._state.graphql_text_limit

    @graphql_text_limit.setter
    def graphql_text_limit(self, limit: int) -> None:
        with self._state.lock:
            self._state.graphql_text_limit = limit

    def drop_github_graphql_field(self, name: str) -> None:
        """GitHub's GraphQL schema lacks the field `name` from now on (an older GitHub
        Enterprise Server): a query naming it is refused as a whole."""
        with self._state.lock:
            self._state.github_graphql_lacks.add(name)

    def forbid_github_graphql_field(self, name: str) -> None:
        """The caller may not read GitHub GraphQL field `name` from now on: it answers null,
        and the answer carries an error for it (GitHub's "Resource not accessible by
        integration"). Only the branch-state query's `rules` heeds this."""
        with self._state.lock:
            self._state.github_graphql_forbidden.add(name)

    @property
    def gitlab_before_17_10(self) -> bool:
        """GitLab's GraphQL as before 17.10: no `Repository.commit`; a query naming it is
        refused."""
        return self._state.gitlab_before_17_10

    @gitlab_before_17_10.setter
    def gitlab_before_17_10(self, older: bool) -> None:
        with self._state.lock:
            self._state.gitlab_before_17_10 = older

    @property
    def gitlab_diff_max_files(self) -> int:
        """GitLab's `diff_max_files`: a compare's diffs stop there, with `compare_timeout`."""
        return self._state.gitlab_diff_max_files

    @gitlab_diff_max_files.setter
    def gitlab_diff_max_files(self, limit: int) -> None:
        with self._state.lock:
            self._state.gitlab_diff_max_files = limit

    @property
    def not_modified(self) -> int:
        """GitHub requests answered 304 Not Modified since the last reset (GitHub does not
        count them against the rate limit)."""
        with self._state.lock:
            return self._state.not_modified

    @property
    def graphql_reads(self) -> list[str]:
        """The files ("REV:path") GitHub GraphQL queries read since the last reset."""
        with self._state.lock:
            return list(self._state.graphql_reads)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(METHOD, raw path without the query) of every API request served, in order."""
        with self._state.lock:
            return list(self._state.requests)

    def reset_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.not_modified = 0
            self._state.graphql_reads.clear()
