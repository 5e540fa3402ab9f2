"""The GitHub adapter: App or token auth, Git Data API reads and writes, pull requests, checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from workers.forge import (
    github_blobs,
    github_git,
    github_graphql,
    github_pulls,
    github_reviews,
)
from workers.forge.base import (
    BranchExists,
    BranchInfo,
    BranchState,
    ChangedFile,
    ChangeRequest,
    ChangeRequestDraft,
    ChangeRequestState,
    CheckReport,
    CommitInfo,
    Conflict,
    FileChange,
    ForgeError,
    NotFound,
    RateBudget,
    RepoRef,
    ReviewComment,
    ReviewThread,
    TreeEntry,
)
from workers.forge.common import (
    Listing,
    ListingCache,
    branch_state_by_rest,
    check_changes,
    newest_first,
    read_each,
    refuse_default_branch,
    utc_now,
)
from workers.forge.github_api import (
    DEFAULT_API_URL,
    DEFAULT_READ_RETRIES,
    GitHubApi,
    make_github,
    read_retry,
)
from workers.forge.github_auth import AppInstallationTokens, CountingTokenAuth


class GitHubForge:
    """GitHub.com or GitHub Enterprise (`base_url` like "https://ghe.example.com/api/v3").

    Authenticate either as a GitHub App (`app_id` + `private_key`; tokens are minted per
    installation) or with a plain `token` for one-shot CLI use. `retry` is how often an
    idempotent read is retried on 5xx or a failed connection; tests pass `retry=None` and zero
    for both `seconds_between_*` throttles, production keeps the defaults.
    """

    name = "github"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_API_URL,
        token: str | None = None,
        app_id: int | None = None,
        private_key: str | bytes | None = None,
        timeout: int = 30,
        retry: int | None = DEFAULT_READ_RETRIES,
        seconds_between_requests: float | None = 0.25,
        seconds_between_writes: float | None = 1.0,
        per_page: int = 100,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if (token is None) == (app_id is None or private_key is None):
            raise ValueError("pass either token, or app_id and private_key")
        self.api_calls = 0
        self._per_page = per_page
        self._clock = clock
        self._client_options: dict[str, Any] = {
            "base_url": base_url,
            "timeout": timeout,
            "retry": read_retry(retry, self._count),
            "seconds_between_requests": seconds_between_requests,
            "seconds_between_writes": seconds_between_writes,
        }
        self._app: AppInstallationTokens | None = None
        if app_id is not None and private_key is not None:
            self._app = AppInstallationTokens(
                app_id,
                private_key,
                base_url=base_url,
                timeout=timeout,
                on_request=self._count,
                clock=clock,
            )
        self._token = token
        self._apis: dict[int | None, GitHubApi] = {}
        self._listings = ListingCache(size=16)  # each kept by commit and by tree sha
        self._repositories: dict[str, tuple[str, str]] = {}  # default branch, node id
        # pull requests the overview read, by repository: (source branch, newest first)
        self._prefetched: dict[str, tuple[str, tuple[ChangeRequest, ...]]] = {}
        # the branch state the overview read, by repository: (branch, base, state)
        self._branch_states: dict[str, tuple[str, str, BranchState | None]] = {}
        self._heads: dict[str, str] = {}  # the default branch head last seen, by repository
        self._branch_by_rest: set[int | None] = set()  # installations GraphQL cannot answer for

    @property
    def body_limit(self) -> int:
        return github_pulls.BODY_LIMIT

    def _count(self) -> None:
        self.api_calls += 1

    @property
    def not_modified(self) -> int:
        """Requests answered 304 (conditional, unchanged): made, but not counted by GitHub."""
        return sum(api.not_modified for api in self._apis.values())

    def rate_limits(self) -> dict[str, RateBudget]:
        limits = {
            "token" if key is None else str(key): api.rate_budget for key, api in self._apis.items()
        }
        return {who: budget for who, budget in limits.items() if budget is not None}

    def _api(self, repo: RepoRef) -> GitHubApi:
        if self._app is None:
            return self._client(None, lambda: str(self._token), None)
        app = self._app
        installation = repo.installation_id or app.installation_id(repo.full_name)
        return self._client(
            installation,
            lambda: app.token(installation),
            lambda: app.invalidate(installation),
        )

    def _client(
        self,
        key: int | None,
        token: Callable[[], str],
        refresh: Callable[[], None] | None,
    ) -> GitHubApi:
        if key not in self._apis:
            github = make_github(CountingTokenAuth(token, self._count), **self._client_options)
            self._apis[key] = GitHubApi(github, clock=self._clock, refresh=refresh)
        return self._apis[key]

    def _repo(self, repo: RepoRef) -> str:
        return f"/repos/{quote(repo.full_name)}"

    # -- branches and files --------------------------------------------------------------

    def default_branch(
        self, repo: RepoRef, *, requests_from: str | None = None, head_hint: str | None = None
    ) -> tuple[str, str]:
        """The first time a repository is seen, and when `head_hint` (the head a push named)
        is not the head last seen, one GraphQL query names its node id, default branch, head
        and tree, and the pull requests from `requests_from` and that branch's state: the next
        `find_change_requests` and `branch_state` for that branch, in this scan, take them
        from there. Otherwise one conditional request, which GitHub answers 304 for free when
        nothing moved: the branch answer names the head's tree too, so a head whose tree was
        listed before is not listed again."""
        self._prefetched.pop(repo.full_name, None)  # never outlives the scan that read it
        self._branch_states.pop(repo.full_name, None)
        moved = head_hint is not None and head_hint != self._heads.get(repo.full_name)
        if repo.full_name not in self._repositories or (requests_from is not None and moved):
            seen = self._overview(repo, requests_from)
            if requests_from is not None:
                self._prefetched[repo.full_name] = (requests_from, seen.pulls)
            if requests_from is not None and seen.branch_read and seen.head is not None:
                self._branch_states[repo.full_name] = (requests_from, seen.head, seen.branch)
            name, head, tree = seen.default_branch, seen.head, seen.tree
        else:
            name = self._default_branch_name(repo)
            path = f"{self._repo(repo)}/branches/{quote(name)}"
            try:
                data = self._api(repo).conditional_get(path)
            except NotFound:
                data = None
            head = str(data["commit"]["sha"]) if data else None
            tree = str(data["commit"]["commit"]["tree"]["sha"]) if data else None
        if head is None or tree is None:
            raise NotFound(f"github {repo.full_name}: default branch {name} has no commits")
        self._heads[repo.full_name] = head
        self._listings.alias(repo, head, _tree_key(tree))
        return name, head

    def _default_branch_name(self, repo: RepoRef) -> str:
        return self._repository(repo)[0]

    def _repository_id(self, repo: RepoRef) -> str:
        """The GraphQL node id, which `updateRefs` names the repository by."""
        return self._repository(repo)[1]

    def _repository(self, repo: RepoRef) -> tuple[str, str]:
        if repo.full_name not in self._repositories:
            self._overview(repo)
        return self._repositories[repo.full_name]

    def _overview(self, repo: RepoRef, pulls_from: str | None = None) -> github_graphql.Overview:
        api, with_branch = self._api(repo), repo.installation_id not in self._branch_by_rest
        try:
            seen = github_graphql.overview(api, repo.full_name, pulls_from, with_branch=with_branch)
        except github_graphql.Unanswered as partial:
            if isinstance(partial, github_graphql.Unsupported):
                self._branch_by_rest.add(repo.installation_id)
            # Without the branch, as before (a repository that is not there raises NotFound).
            seen = github_graphql.overview(api, repo.full_name, pulls_from)
        self._repositories[repo.full_name] = (seen.default_branch, seen.node_id)
        return seen

    def list_files(self, repo: RepoRef, sha: str) -> list[TreeEntry]:
        return list(self._listing(repo, sha).entries.values())

    def _listing(self, repo: RepoRef, sha: str) -> Listing:
        listing = self._listings.get(repo, sha)
        if listing is None:
            listing = github_git.list_tree(self._api(repo), repo.full_name, sha)
            self._listings.put(repo, sha, listing)
            if listing.root_tree is not None:
                self._listings.put(repo, _tree_key(listing.root_tree), listing)
        return listing

    def read_file(self, repo: RepoRef, path: str, sha: str) -> bytes:
        listing = self._listings.get(repo, sha)
        if listing is None:
            return github_git.read_path(self._api(repo), repo.full_name, path, sha)
        entry = listing.entries.get(path)
        if entry is None:
            raise NotFound(f"github {repo.full_name}: no file {path} at {sha}")
        return github_git.read_blob(self._api(repo), repo.full_name, entry.sha)

    def read_files(self, repo: RepoRef, paths: Sequence[str], sha: str) -> dict[str, bytes]:
        listing = self._listings.get(repo, sha)
        if listing is None:
            return read_each(self, repo, paths, sha)
        entries = [listing.entries[path] for path in paths if path in listing.entries]
        try:
            contents = github_blobs.read_texts(self._api(repo), repo.full_name, sha, entries)
        except ForgeError as refused:
            if type(refused) is not ForgeError:
                raise  # rate limited, gone, forbidden, transient: REST would fare no better
            contents = {}  # GraphQL refused the query itself: every file by REST
        # What GraphQL could not give exactly (binary, truncated, not UTF-8) comes by REST.
        rest = [entry.path for entry in entries if entry.path not in contents]
        return contents | read_each(self, repo, rest, sha)

    def branch_head(self, repo: RepoRef, branch: str) -> str | None:
        return github_git.ref_head(self._api(repo), repo.full_name, branch)

    def branch(self, repo: RepoRef, branch: str) -> BranchInfo | None:
        try:
            data = self._api(repo).call("GET", f"{self._repo(repo)}/branches/{quote(branch)}")
        except NotFound:
            return None
        return BranchInfo(head=str(data["commit"]["sha"]), protected=bool(data.get("protected")))

    def branch_state(self, repo: RepoRef, branch: str, base_sha: str) -> BranchState | None:
        """What this scan's overview read of it, else one GraphQL query; the branch and the
        comparison by REST when GraphQL cannot answer exactly (see `github_graphql`). Read at
        the start of a scan, it may be older than the write that relies on it: every write of
        the branch is a compare-and-swap on the head it names, so a branch that moved since is
        not written (see `commit_files`, `delete_branch`)."""
        kept = self._branch_states.pop(repo.full_name, None)
        if kept is not None and kept[:2] == (branch, base_sha):
            return kept[2]
        if repo.installation_id not in self._branch_by_rest:
            api = self._api(repo)
            try:
                return github_graphql.branch_state(api, repo.full_name, branch, base_sha)
            except github_graphql.Unsupported:
                self._branch_by_rest.add(repo.installation_id)
            except github_graphql.Unanswered:
                pass
        return branch_state_by_rest(self, repo, branch, base_sha)

    def branch_commits(self, repo: RepoRef, head: str, base_sha: str) -> list[CommitInfo]:
        """The commits `head` (a commit or a branch) reaches and `base_sha` does not."""
        path = f"{self._repo(repo)}/compare/{base_sha}...{quote(head)}"
        data = self._api(repo).call("GET", path)
        return newest_first([_commit(item) for item in data.get("commits", [])])

    def commit_files(
        self,
        repo: RepoRef,
        branch: str,
        base_sha: str,
        changes: Sequence[FileChange],
        message: str,
        *,
        expected_head: str | None,
    ) -> str:
        refuse_default_branch(branch, self._default_branch_name(repo))
        check_changes(changes)
        api = self._api(repo)
        base = self._listing(repo, base_sha)
        sha = github_git.write_commit(api, repo.full_name, base, base_sha, changes, message)
        node = self._repository_id(repo)
        github_git.point_branch(api, repo.full_name, node, branch, sha, expected_head)
        return sha

    def delete_branch(self, repo: RepoRef, branch: str, *, expected_head: str) -> None:
        refuse_default_branch(branch, self._default_branch_name(repo))
        node = self._repository_id(repo)
        github_git.point_branch(self._api(repo), repo.full_name, node, branch, None, expected_head)

    # -- pull requests and checks ------------------------------------------------------

    def find_change_requests(
        self, repo: RepoRef, source_branch: str, states: Sequence[ChangeRequestState]
    ) -> list[ChangeRequest]:
        prefetched = self._prefetched.pop(repo.full_name, None)
        if prefetched is not None and prefetched[0] == source_branch:
            return [pull for pull in prefetched[1] if pull.state in set(states)]
        owner = repo.full_name.split("/")[0]
        return github_pulls.find(
            self._api(repo), self._repo(repo), owner, source_branch, states, self._per_page
        )

    def create_change_request(self, repo: RepoRef, draft: ChangeRequestDraft) -> ChangeRequest:
        return github_pulls.create(self._api(repo), self._repo(repo), draft)

    def open_change_request(
        self,
        repo: RepoRef,
        draft: ChangeRequestDraft,
        base_sha: str,
        changes: Sequence[FileChange],
        message: str,
    ) -> ChangeRequest:
        """Branch and commit in one GraphQL document when `createCommitOnBranch` can write the
        changes exactly, else by the Git Data API; then the pull request."""
        refuse_default_branch(draft.source_branch, self._default_branch_name(repo))
        check_changes(changes)
        base = self._listing(repo, base_sha)
        if not github_graphql.writable_in_one(base, changes):
            try:
                self.commit_files(
                    repo, draft.source_branch, base_sha, changes, message, expected_head=None
                )
            except Conflict as exists:
                raise BranchExists(str(exists)) from exists
            return self.create_change_request(repo, draft)
        node = self._repository_id(repo)
        github_graphql.create_branch_with_commit(
            self._api(repo), repo.full_name, node, draft.source_branch, base_sha, changes, message
        )
        return self.create_change_request(repo, draft)

    def update_change_request(
        self,
        repo: RepoRef,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> ChangeRequest:
        return github_pulls.update(self._api(repo), self._repo(repo), number, title, body, labels)

    def close_change_request(self, repo: RepoRef, number: int, comment: str | None = None) -> None:
        if comment is not None:
            self.comment(repo, number, comment)
        github_pulls.close(self._api(repo), self._repo(repo), number)

    def comment(self, repo: RepoRef, number: int, body: str) -> None:
        github_pulls.comment(self._api(repo), self._repo(repo), number, body)

    def report(self, repo: RepoRef, report: CheckReport) -> None:
        github_pulls.report(self._api(repo), self._repo(repo), report)

    # -- reviews of people's pull requests ---------------------------------------------

    def change_request(self, repo: RepoRef, number: int) -> ChangeRequest:
        path = f"{self._repo(repo)}/pulls/{number}"
        return github_pulls.pull(self._api(repo).call("GET", path))

    def changed_files(self, repo: RepoRef, number: int) -> list[ChangedFile]:
        return github_reviews.changed_files(self._api(repo), self._repo(repo), number)

    def review_threads(self, repo: RepoRef, number: int) -> list[ReviewThread]:
        return github_reviews.threads(self._api(repo), self._repo(repo), number)

    def post_review(
        self,
        repo: RepoRef,
        number: int,
        head_sha: str,
        summary: str,
        comments: Sequence[ReviewComment],
        *,
        request_changes: bool = False,
    ) -> None:
        github_reviews.post(
            self._api(repo),
            self._repo(repo),
            number,
            head_sha,
            summary,
            comments,
            request_changes=request_changes,
        )

    def review_states(self, repo: RepoRef, number: int) -> dict[str, str]:
        return github_reviews.states(self._api(repo), self._repo(repo), number)

    def dismiss_review(self, repo: RepoRef, number: int, review_id: str, message: str) -> None:
        github_reviews.dismiss(self._api(repo), self._repo(repo), number, review_id, message)

    def resolve_review_thread(
        self, repo: RepoRef, number: int, thread: ReviewThread, reply: str
    ) -> None:
        github_reviews.reply(self._api(repo), self._repo(repo), number, thread.id, reply)


def _tree_key(tree_sha: str) -> str:
    """Listings are kept by commit sha and by tree sha (never equal: different objects)."""
    return f"tree:{tree_sha}"


def _commit(item: dict[str, Any]) -> CommitInfo:
    author = item["commit"].get("author") or {}
    return CommitInfo(
        sha=item["sha"],
        parents=tuple(parent["sha"] for parent in item.get("parents", [])),
        author_name=str(author.get("name", "")),
        author_email=str(author.get("email", "")),
        message=str(item["commit"].get("message", "")),
    )
