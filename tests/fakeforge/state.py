"""The forge's whole state: repositories, records, users, credentials, faults, request log.

Every read or write goes through `ForgeState.lock`: the HTTP server is threaded and the test
thread seeds and inspects the same state.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tests.fakeforge.app_manifests import ManifestRegistry
from tests.fakeforge.auth import AuthRegistry
from tests.fakeforge.faults import FaultSchedule
from tests.fakeforge.rate_windows import RateWindows
from tests.fakeforge.records import ChangeRequest, IdSequence, RepoRecords, utc_now
from tests.fakeforge.store import (
    BLOB_MODE,
    BareRepo,
    RefUpdateRejected,
    Signature,
    TreeEdit,
)
from tests.fakeforge.suggestions import apply_lines, suggested

HUMAN = ("Human", "human@example.com")


class MergeConflict(Exception):
    """The change request cannot be merged without a human resolving conflicts."""


@dataclass
class Repository:
    full_name: str
    bare: BareRepo
    github_id: int
    project_id: int
    default_branch: str
    created_at: datetime = field(default_factory=utc_now)
    records: RepoRecords = field(default_factory=RepoRecords)
    protected: set[str] = field(default_factory=set)  # branch names with a protection rule
    ruleset_protected: set[str] = field(default_factory=set)  # ... targeted by a ruleset (GitHub)

    @property
    def owner(self) -> str:
        return self.full_name.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.full_name.rpartition("/")[2]

    def branch_head(self, branch: str) -> str | None:
        return self.bare.ref(f"refs/heads/{branch}")

    def branches(self) -> dict[str, str]:
        refs = self.bare.refs("refs/heads/")
        return {name.removeprefix("refs/heads/"): sha for name, sha in refs.items()}

    def file_edits(self, files: Mapping[str, bytes | str | None]) -> list[TreeEdit]:
        """Tree edits writing each file's content as a blob (None deletes the path)."""
        edits = []
        for path, content in files.items():
            if content is None:
                edits.append(TreeEdit(path, BLOB_MODE, None))
                continue
            data = content.encode() if isinstance(content, str) else content
            edits.append(TreeEdit(path, BLOB_MODE, self.bare.write_blob(data)))
        return edits

    def commit(
        self,
        parent: str | None,
        edits: list[TreeEdit],
        message: str,
        author: Signature,
        committer: Signature | None = None,
    ) -> str:
        base_tree = self.bare.resolve_tree(parent) if parent else None
        tree = self.bare.build_tree(base_tree, edits)
        parents = [parent] if parent else []
        return self.bare.commit_tree(tree, parents, message, author, committer or author)

    def live_head(self, change: ChangeRequest) -> str:
        """A change request's head: its branch while it exists, else the last one seen. A
        fork's head lives here as refs/pull/N/head, as on GitHub."""
        if change.head_repo is not None:
            head = self.bare.ref(pull_ref(change.number))
        else:
            head = self.branch_head(change.source_branch)
        if head is not None and change.state == "open":
            change.head_sha = head
        return change.head_sha


def pull_ref(number: int) -> str:
    return f"refs/pull/{number}/head"


class ForgeState:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self.repos: dict[str, Repository] = {}
        self.ids = IdSequence()
        self.user_ids: dict[str, int] = {}
        self.auth = AuthRegistry()
        self.manifests = ManifestRegistry()  # Apps registered through the manifest flow
        self.faults = FaultSchedule()
        self.rate_windows = RateWindows()  # off until a test sets a limit
        self.page_size_cap: int | None = None
        self.truncate_trees = False
        self.graphql_text_limit = 512 * 1024  # GraphQL Blob.text beyond this is truncated
        self.github_graphql_lacks: set[str] = set()  # fields an older GitHub's schema lacks
        self.github_graphql_forbidden: set[str] = set()  # fields the caller may not read
        self.gitlab_before_17_10 = False  # GitLab GraphQL without Repository.commit
        self.gitlab_diff_max_files = 1000  # GitLab's diff_max_files: a longer diff is cut
        self.requests: list[tuple[str, str]] = []
        self.not_modified = 0  # GitHub answers 304 to a matching If-None-Match: not counted
        self.graphql_reads: list[str] = []  # "REV:path" expressions GraphQL queries asked for

    # -- lookups ----------------------------------------------------------------------------

    def repo(self, full_name: str) -> Repository | None:
        return self.repos.get(full_name)

    def repo_by_project_id(self, project_id: int) -> Repository | None:
        for repository in self.repos.values():
            if repository.project_id == project_id:
                return repository
        return None

    def require_repo(self, full_name: str) -> Repository:
        repository = self.repos.get(full_name)
        if repository is None:
            raise KeyError(f"no repository {full_name!r} in the fake forge")
        return repository

    def user_id(self, login: str) -> int:
        if login not in self.user_ids:
            self.user_ids[login] = self.ids.next()
        return self.user_ids[login]

    def login_of(self, user_id: int) -> str | None:
        for login, known in self.user_ids.items():
            if known == user_id:
                return login
        return None

    # -- seeding ----------------------------------------------------------------------------

    def create_repo(
        self, full_name: str, files: Mapping[str, bytes | str], default_branch: str
    ) -> str:
        if full_name in self.repos or "/" not in full_name.strip("/"):
            raise ValueError(f"cannot create repository {full_name!r}")
        bare = BareRepo(self.root / f"{full_name}.git")
        bare.init(default_branch)
        repository = Repository(
            full_name, bare, self.ids.next(), len(self.repos) + 1, default_branch
        )
        self.repos[full_name] = repository
        self.user_id(repository.owner)
        head = repository.commit(
            None, repository.file_edits(files), "Initial commit", Signature.now(*HUMAN)
        )
        bare.update_ref(f"refs/heads/{default_branch}", head, None)
        return head

    def push_commit(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, bytes | str | None],
        message: str,
        author: tuple[str, str],
        parent: str | None,
        *,
        orphan: bool = False,
    ) -> str:
        repository = self.require_repo(full_name)
        current = repository.branch_head(branch)
        base = parent or current or repository.branch_head(repository.default_branch)
        base = None if orphan else base
        sha = repository.commit(base, repository.file_edits(files), message, Signature.now(*author))
        # Like `git push --force`: a test may rewrite a branch on purpose.
        repository.bare.update_ref(f"refs/heads/{branch}", sha, current)
        return sha

    # -- humans acting on change requests -----------------------------------------------------

    def change_request(self, full_name: str, number: int) -> ChangeRequest:
        change = self.require_repo(full_name).records.change_requests.get(number)
        if change is None:
            raise KeyError(f"no change request #{number} in {full_name!r}")
        return change

    def merge(self, full_name: str, number: int, merged_by: str = "human") -> str:
        repository = self.require_repo(full_name)
        self.user_id(merged_by)
        change = self.change_request(full_name, number)
        if change.state != "open":
            raise ValueError(f"change request #{number} is not open")
        head = repository.live_head(change)
        target_ref = f"refs/heads/{change.target_branch}"
        target = repository.bare.ref(target_ref)
        if target is None:
            raise ValueError(f"target branch {change.target_branch!r} is gone")
        if repository.bare.is_ancestor(target, head):
            result = head
        else:
            tree = repository.bare.merge_trees(target, head)
            if tree is None:
                raise MergeConflict(f"#{number} conflicts with {change.target_branch}")
            message = f"Merge pull request #{number} from {change.source_branch}"
            signature = Signature.now(*HUMAN)
            result = repository.bare.commit_tree(
                tree, [target, head], message, signature, signature
            )
        try:
            repository.bare.update_ref(target_ref, result, target)
        except RefUpdateRejected as error:
            raise MergeConflict(f"{change.target_branch} moved during the merge") from error
        change.merged = True
        change.merged_at = utc_now()
        change.merged_by = merged_by
        change.merge_commit_sha = result
        change.close()
        return result

    # -- people's pull requests and their suggestions -------------------------------------------

    def open_pull(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, bytes | str | None],
        author: str,
        fork: str | None = None,
        draft: bool = False,
    ) -> int:
        """A person's change request: one commit on the default branch's head, on `branch`
        here, or (from the fork `fork`) under refs/pull/N/head as GitHub keeps it."""
        repository = self.require_repo(full_name)
        self.user_id(author)
        base = repository.branch_head(repository.default_branch)
        assert base is not None
        sha = repository.commit(
            base, repository.file_edits(files), f"Change {branch}", Signature.now(*HUMAN)
        )
        number = repository.records.next_number()
        if fork is None:
            repository.bare.update_ref(f"refs/heads/{branch}", sha, None)
        else:
            repository.bare.update_ref(pull_ref(number), sha, None)
        change = ChangeRequest(
            id=self.ids.next(),
            number=number,
            title=f"Change {branch}",
            body="",
            source_branch=branch,
            target_branch=repository.default_branch,
            author=author,
            head_sha=sha,
            base_sha=base,
            draft=draft,
            head_repo=fork,
        )
        repository.records.change_requests[number] = change
        return number

    def push_to_pull(
        self, full_name: str, number: int, files: Mapping[str, bytes | str | None], message: str
    ) -> str:
        """A person's next commit on a change request's head (a fork's too)."""
        repository = self.require_repo(full_name)
        change = self.change_request(full_name, number)
        head = repository.live_head(change)
        sha = repository.commit(head, repository.file_edits(files), message, Signature.now(*HUMAN))
        ref = pull_ref(number) if change.head_repo else f"refs/heads/{change.source_branch}"
        repository.bare.update_ref(ref, sha, head)
        change.head_sha = sha
        return sha

    def commit_suggestion(self, full_name: str, number: int, comment_id: int) -> str:
        """ "Commit suggestion" on one diff comment: its block replaces the lines it covers."""
        repository = self.require_repo(full_name)
        change = self.change_request(full_name, number)
        comment = next(c for c in change.diff_comments if c.id == comment_id)
        found = suggested(comment.body)
        if found is None or comment.line is None:
            raise ValueError(f"comment {comment_id} suggests nothing")
        lines, above, below = found
        first = comment.start_line or comment.line - above
        last = comment.line + below
        head = repository.live_head(change)
        data = repository.bare.read_path(head, comment.path)
        assert data is not None
        content = apply_lines(data, first, last, lines)
        return self.push_to_pull(
            full_name, number, {comment.path: content}, f"Apply suggestion to {comment.path}"
        )
