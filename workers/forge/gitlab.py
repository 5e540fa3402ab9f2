"""The GitLab adapter: repository tree and raw files, one commit with actions, merge requests."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any
from urllib.parse import quote

from workers.forge import (
    gitlab_blobs,
    gitlab_listing,
    gitlab_mrs,
    gitlab_overview,
    gitlab_reviews,
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
from workers.forge.gitlab_api import GitLabApi
from workers.forge.gitlab_mrs import project_path

DEFAULT_URL = "https://gitlab.com"


MAX_KEPT_DIFF_REFS = 1000


class GitLabForge:
    """gitlab.com or a self-managed instance (`url` without the `/api/v4` suffix).

    Tests pass `retry_transient_errors=False`; production retries reads a few times.
    """

    name = "gitlab"

    def __init__(
        self,
        *,
        token: str,
        url: str = DEFAULT_URL,
        timeout: float = 30.0,
        retry_transient_errors: bool = True,
        max_retries: int = 3,
        per_page: int = 100,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.api_calls = 0
        self._per_page = per_page
        self._api = GitLabApi(
            url,
            token,
            timeout=timeout,
            retry_transient_errors=retry_transient_errors,
            max_retries=max_retries,
            on_request=self._count,
            clock=clock,
        )
        self._listings = ListingCache()
        self._default_branches: dict[str, str] = {}
        # This instance's GraphQL cannot answer the overview (older than 17.10): REST only.
        self._no_overview = False
        self._no_blob_queries = False  # the instance refuses blob queries for good
        # merge requests the overview read, by project: (source branch, newest first)
        self._prefetched: dict[str, tuple[str, tuple[ChangeRequest, ...]]] = {}
        # The diff refs of the merge requests a review just read, for its discussions' positions.
        self._diff_refs: dict[tuple[str, int], dict[str, Any]] = {}

    @property
    def body_limit(self) -> int:
        return gitlab_mrs.BODY_LIMIT

    def _count(self) -> None:
        self.api_calls += 1

    def rate_limits(self) -> dict[str, RateBudget]:
        budget = self._api.rate_budget
        return {} if budget is None else {"token": budget}

    # -- branches and files --------------------------------------------------------------

    def default_branch(
        self, repo: RepoRef, *, requests_from: str | None = None, head_hint: str | None = None
    ) -> tuple[str, str]:
        """One GraphQL query names the default branch, its head and the merge requests from
        `requests_from` (the next `find_change_requests` for that branch, in this scan, takes
        them from there). Where GraphQL cannot, REST: the project (once), then the branch."""
        self._prefetched.pop(repo.full_name, None)  # never outlives the scan that read it
        seen = None if self._no_overview else self._overview(repo, requests_from)
        if seen is not None and seen.default_branch is not None:
            self._default_branches[repo.full_name] = seen.default_branch
        if seen is not None and requests_from is not None and seen.requests is not None:
            self._prefetched[repo.full_name] = (requests_from, seen.requests)
        head = None if seen is None else seen.head
        name = self._default_branch_name(repo)
        if head is None:  # GraphQL could not name it (HEAD names no branch there): REST
            head = self.branch_head(repo, name)
        if head is None:
            raise NotFound(f"gitlab {repo.full_name}: default branch {name} has no commits")
        return name, head

    def _overview(
        self, repo: RepoRef, requests_from: str | None
    ) -> gitlab_overview.Overview | None:
        """None when REST is to answer: GraphQL refused, or the project is not there."""
        query = gitlab_overview.query(requests_from)
        try:
            answer = self._api.graphql(
                query, gitlab_overview.variables(repo.full_name, requests_from)
            )
            return gitlab_overview.parse(answer)
        except gitlab_overview.Unsupported as refused:
            if refused.lacking:
                self._no_overview = True
            return None
        except ForgeError as refused:
            if type(refused) not in (ForgeError, NotFound):
                raise  # rate limited, forbidden, transient: REST would fare no better
            self._no_overview = True  # no GraphQL endpoint there
            return None

    def _default_branch_name(self, repo: RepoRef) -> str:
        if repo.full_name not in self._default_branches:
            data = self._api.call("get", project_path(repo.full_name))
            self._default_branches[repo.full_name] = str(data["default_branch"])
        return self._default_branches[repo.full_name]

    def list_files(self, repo: RepoRef, sha: str) -> list[TreeEntry]:
        return list(self._listing(repo, sha).entries.values())

    def _listing(self, repo: RepoRef, sha: str) -> Listing:
        listing = self._listings.get(repo, sha)
        if listing is None:
            listing = self._derived_listing(repo, sha)
            if listing is not None:
                self._listings.put(repo, sha, listing)
        if listing is None:
            params = {"recursive": "true", "ref": sha, "per_page": self._per_page}
            items = self._api.pages(f"{project_path(repo.full_name)}/repository/tree", params)
            entries = {
                item["path"]: TreeEntry(item["path"], item["id"], None, item["mode"])
                for item in items
                if item["type"] == "blob"
            }
            listing = Listing(dict(sorted(entries.items())))
            self._listings.put(repo, sha, listing)
        return listing

    def _derived_listing(self, repo: RepoRef, sha: str) -> Listing | None:
        """From the listing kept for an earlier commit of the repository, when that costs
        fewer calls than the tree's pages (a compare and a blob query at least)."""
        old = self._listings.latest(repo)
        if old is None or self._no_blob_queries:
            return None
        pages = gitlab_listing.full_listing_pages(old[1], self._per_page)
        if pages <= 2:
            return None
        try:
            return gitlab_listing.derive(self._api, repo.full_name, old, sha, pages)
        except gitlab_overview.Unsupported:
            self._no_blob_queries = True  # refused for good: not asked again
            return None

    def group_projects(self, group: str) -> list[str]:
        # https://docs.gitlab.com/api/groups/#list-projects
        params = {
            "include_subgroups": "true",
            "archived": "false",
            "simple": "true",
            "order_by": "id",
            "per_page": self._per_page,
        }
        items = self._api.pages(f"/groups/{quote(group, safe='')}/projects", params)
        return sorted(str(item["path_with_namespace"]) for item in items)

    def read_file(self, repo: RepoRef, path: str, sha: str) -> bytes:
        listing = self._listings.get(repo, sha)
        if listing is not None and path not in listing.entries:
            raise NotFound(f"gitlab {repo.full_name}: no file {path} at {sha}")
        file_path = f"{project_path(repo.full_name)}/repository/files/{quote(path, safe='')}/raw"
        return self._api.raw(file_path, {"ref": sha})

    def read_files(self, repo: RepoRef, paths: Sequence[str], sha: str) -> dict[str, bytes]:
        """Fifty files a GraphQL query; what it cannot give exactly (binary, not UTF-8,
        refused) comes by REST, one raw file each."""
        listing = self._listings.get(repo, sha)
        wanted = [p for p in paths if listing is None or p in listing.entries]
        contents: dict[str, bytes] = {}
        for batch in gitlab_blobs.batches([] if self._no_blob_queries else wanted):
            try:
                answer = self._api.graphql(
                    gitlab_blobs.QUERY, gitlab_blobs.variables(repo.full_name, sha, batch)
                )
            except ForgeError as refused:
                if type(refused) not in (ForgeError, NotFound):  # NotFound: no GraphQL there
                    raise  # rate limited, gone, forbidden, transient: REST would fare no better
                answer = None  # GraphQL refused the query itself: these files by REST
            if gitlab_overview.refused_for_good(answer):
                self._no_blob_queries = True  # over this instance's limits: REST from now on
                break
            contents.update(gitlab_blobs.exact_texts(answer, batch))
        rest = [path for path in wanted if path not in contents]
        return contents | read_each(self, repo, rest, sha)

    def branch_head(self, repo: RepoRef, branch: str) -> str | None:
        info = self.branch(repo, branch)
        return None if info is None else info.head

    def branch(self, repo: RepoRef, branch: str) -> BranchInfo | None:
        path = f"{project_path(repo.full_name)}/repository/branches/{quote(branch, safe='')}"
        try:
            data = self._api.call("get", path)
        except NotFound:
            return None
        return BranchInfo(head=str(data["commit"]["id"]), protected=bool(data.get("protected")))

    def branch_state(self, repo: RepoRef, branch: str, base_sha: str) -> BranchState | None:
        return branch_state_by_rest(self, repo, branch, base_sha)

    def branch_commits(self, repo: RepoRef, head: str, base_sha: str) -> list[CommitInfo]:
        """The commits `head` (a commit or a branch) reaches and `base_sha` does not."""
        params = {"from": base_sha, "to": head}
        data = self._api.call(
            "get", f"{project_path(repo.full_name)}/repository/compare", params=params
        )
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
        """One commit on `base_sha` written straight to `branch` (`start_sha` + `force`).

        GitLab's API has no compare-and-swap for branches (GitHub's GraphQL has): the head is
        checked by a read right before the forced write.
        """
        refuse_default_branch(branch, self._default_branch_name(repo))
        check_changes(changes)
        base = self._listing(repo, base_sha)
        actions = [action for change in changes if (action := _action(change, base))]
        if expected_head is not None and not self._still_at(repo, branch, expected_head):
            raise Conflict(f"gitlab {repo.full_name}: branch {branch} vanished while updating")
        body = {
            "branch": branch,
            "start_sha": base_sha,
            "force": expected_head is not None,
            "commit_message": message,
            "actions": actions,
        }
        commit = self._api.call(
            "post", f"{project_path(repo.full_name)}/repository/commits", body=body
        )
        return str(commit["id"])

    def delete_branch(self, repo: RepoRef, branch: str, *, expected_head: str) -> None:
        refuse_default_branch(branch, self._default_branch_name(repo))
        # No compare-and-swap for a DELETE either: the head is read right before it.
        if not self._still_at(repo, branch, expected_head):
            return  # already gone: the state we wanted
        path = f"{project_path(repo.full_name)}/repository/branches/{quote(branch, safe='')}"
        with suppress(NotFound):
            self._api.call("delete", path)

    def _still_at(self, repo: RepoRef, branch: str, expected_head: str) -> bool:
        """True when `branch` points at `expected_head`, False when it is gone; Conflict when
        it points elsewhere (someone pushed since the caller looked)."""
        current = self.branch_head(repo, branch)
        if current is not None and current != expected_head:
            raise Conflict(
                f"gitlab {repo.full_name}: branch {branch} is at {current}, "
                f"expected {expected_head}"
            )
        return current is not None

    # -- merge requests and statuses -----------------------------------------------------

    def find_change_requests(
        self, repo: RepoRef, source_branch: str, states: Sequence[ChangeRequestState]
    ) -> list[ChangeRequest]:
        prefetched = self._prefetched.pop(repo.full_name, None)
        if prefetched is not None and prefetched[0] == source_branch:
            return [request for request in prefetched[1] if request.state in set(states)]
        project = project_path(repo.full_name)
        return gitlab_mrs.find(self._api, project, source_branch, states, self._per_page)

    def create_change_request(self, repo: RepoRef, draft: ChangeRequestDraft) -> ChangeRequest:
        return gitlab_mrs.create(self._api, project_path(repo.full_name), draft)

    def open_change_request(
        self,
        repo: RepoRef,
        draft: ChangeRequestDraft,
        base_sha: str,
        changes: Sequence[FileChange],
        message: str,
    ) -> ChangeRequest:
        """GitLab writes a commit and opens a merge request in two requests at best: one
        commit that creates the branch (Conflict if it exists), then the merge request."""
        try:
            self.commit_files(
                repo, draft.source_branch, base_sha, changes, message, expected_head=None
            )
        except Conflict as exists:
            raise BranchExists(str(exists)) from exists
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
        project = project_path(repo.full_name)
        return gitlab_mrs.update(self._api, project, number, title, body, labels)

    def close_change_request(self, repo: RepoRef, number: int, comment: str | None = None) -> None:
        if comment is not None:
            self.comment(repo, number, comment)
        gitlab_mrs.close(self._api, project_path(repo.full_name), number)

    def comment(self, repo: RepoRef, number: int, body: str) -> None:
        gitlab_mrs.comment(self._api, project_path(repo.full_name), number, body)

    def report(self, repo: RepoRef, report: CheckReport) -> None:
        gitlab_mrs.report(self._api, project_path(repo.full_name), report)

    # -- reviews of people's merge requests --------------------------------------------

    def change_request(self, repo: RepoRef, number: int) -> ChangeRequest:
        project = project_path(repo.full_name)
        data = self._api.call("get", f"{project}/merge_requests/{number}")
        refs = data.get("diff_refs")
        if isinstance(refs, dict):
            if len(self._diff_refs) >= MAX_KEPT_DIFF_REFS:
                self._diff_refs.clear()
            self._diff_refs[(project, number)] = refs
        return gitlab_mrs.merge_request(data)

    def changed_files(self, repo: RepoRef, number: int) -> list[ChangedFile]:
        return gitlab_reviews.changed_files(self._api, project_path(repo.full_name), number)

    def review_threads(self, repo: RepoRef, number: int) -> list[ReviewThread]:
        return gitlab_reviews.threads(self._api, project_path(repo.full_name), number)

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
        # GitLab has no review to hold a summary (the commit status carries it) nor a review
        # event: `request_changes` changes nothing.
        project = project_path(repo.full_name)
        refs = self._diff_refs.pop((project, number), None)
        gitlab_reviews.post(self._api, project, number, head_sha, comments, refs=refs)

    def review_states(self, repo: RepoRef, number: int) -> dict[str, str]:
        return {}

    def dismiss_review(self, repo: RepoRef, number: int, review_id: str, message: str) -> None:
        return None

    def resolve_review_thread(
        self, repo: RepoRef, number: int, thread: ReviewThread, reply: str
    ) -> None:
        project = project_path(repo.full_name)
        gitlab_reviews.resolve(self._api, project, number, thread.id, reply)


def _action(change: FileChange, base: Listing) -> dict[str, Any] | None:
    """The commit action for one change: GitLab insists on create vs update, and refuses to
    delete what is not there (that change is already in effect, so it is dropped)."""
    exists = change.path in base.entries
    if change.content is None:
        return {"action": "delete", "file_path": change.path} if exists else None
    return {
        "action": "update" if exists else "create",
        "file_path": change.path,
        "content": base64.b64encode(change.content).decode("ascii"),
        "encoding": "base64",
    }


def _commit(item: dict[str, Any]) -> CommitInfo:
    return CommitInfo(
        sha=str(item["id"]),
        parents=tuple(str(parent) for parent in item.get("parent_ids", [])),
        author_name=str(item.get("author_name", "")),
        author_email=str(item.get("author_email", "")),
        message=str(item.get("message", "")),
    )
