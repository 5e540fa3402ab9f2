"""docs/sample-pr.md: the pull request the bot opens for examples/demo, produced by the bot.

The bot's own scan (`workers.scan.run.run`, hence `ensure_fix_pr` and `pr_body`) runs against an
in-memory GitHub repository holding the demo tree, so the title, body, commit and diff shown are
exactly what a first scan writes. `make demo` shows the same through real processes.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docs.reference import GENERATED_NOTE
from workers.core.explain_markdown import code_span
from workers.forge import github_pulls
from workers.forge.base import (
    BranchInfo,
    BranchState,
    ChangeRequest,
    ChangeRequestDraft,
    ChangeRequestState,
    CheckReport,
    FileChange,
    RateBudget,
    RepoRef,
    TreeEntry,
)
from workers.jobs import ScanJob
from workers.scan.run import run

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO_ROOT / "examples" / "demo"
SAMPLE_REPO = "acme/shop"
SAMPLE_BRANCH = "main"
PR_URL = f"https://github.com/{SAMPLE_REPO}/pull/1"


class UnexpectedCall(AssertionError):
    """A first scan of a repository without pull requests never makes this call."""


@dataclass(frozen=True)
class SamplePullRequest:
    title: str
    body: str
    branch: str
    commit_message: str
    diff: str


class _FirstScanForge:
    """A GitHub repository with one commit and no pull requests; it keeps what the bot writes."""

    name = "github"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.api_calls = 0
        self.files = files
        listing = "".join(f"{path}\0{_blob_sha(data)}" for path, data in sorted(files.items()))
        self.head = hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()
        self.commits: list[tuple[str, tuple[FileChange, ...], str]] = []
        self.drafts: list[ChangeRequestDraft] = []

    @property
    def body_limit(self) -> int:
        return github_pulls.BODY_LIMIT

    def rate_limits(self) -> dict[str, RateBudget]:
        return {}

    def default_branch(
        self, repo: RepoRef, *, requests_from: str | None = None, head_hint: str | None = None
    ) -> tuple[str, str]:
        return SAMPLE_BRANCH, self.head

    def list_files(self, repo: RepoRef, sha: str) -> list[TreeEntry]:
        return [
            TreeEntry(path, _blob_sha(data), len(data), "100644")
            for path, data in sorted(self.files.items())
        ]

    def read_file(self, repo: RepoRef, path: str, sha: str) -> bytes:
        return self.files[path]

    def read_files(self, repo: RepoRef, paths: Sequence[str], sha: str) -> dict[str, bytes]:
        return {path: self.files[path] for path in paths if path in self.files}

    def branch_head(self, repo: RepoRef, branch: str) -> str | None:
        return None

    def branch(self, repo: RepoRef, branch: str) -> BranchInfo | None:
        return None

    def branch_state(self, repo: RepoRef, branch: str, base_sha: str) -> BranchState | None:
        return None

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
        self.commits.append((branch, tuple(changes), message))
        return "1" * 40

    def find_change_requests(
        self, repo: RepoRef, source_branch: str, states: Sequence[ChangeRequestState]
    ) -> list[ChangeRequest]:
        return []

    def create_change_request(self, repo: RepoRef, draft: ChangeRequestDraft) -> ChangeRequest:
        self.drafts.append(draft)
        return ChangeRequest(
            number=1,
            url=PR_URL,
            state=ChangeRequestState.OPEN,
            title=draft.title,
            body=draft.body,
            source_branch=draft.source_branch,
            target_branch=draft.target_branch,
            head_sha="1" * 40,
        )

    def open_change_request(
        self,
        repo: RepoRef,
        draft: ChangeRequestDraft,
        base_sha: str,
        changes: Sequence[FileChange],
        message: str,
    ) -> ChangeRequest:
        self.commit_files(repo, draft.source_branch, base_sha, changes, message, expected_head=None)
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
        raise UnexpectedCall("update_change_request")

    def close_change_request(self, repo: RepoRef, number: int, comment: str | None = None) -> None:
        raise UnexpectedCall("close_change_request")

    def comment(self, repo: RepoRef, number: int, body: str) -> None:
        raise UnexpectedCall("comment")

    def delete_branch(self, repo: RepoRef, branch: str, *, expected_head: str) -> None:
        raise UnexpectedCall("delete_branch")

    def report(self, repo: RepoRef, report: CheckReport) -> None:
        raise UnexpectedCall("report")


def _blob_sha(data: bytes) -> str:
    """Git's blob id, as a forge lists it."""
    header = f"blob {len(data)}\0".encode()
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def demo_files(root: Path = DEMO_DIR) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def sample_pull_request(files: dict[str, bytes] | None = None) -> SamplePullRequest:
    """What the bot writes on its first scan of `files` (default: examples/demo)."""
    forge = _FirstScanForge(demo_files() if files is None else files)
    job = ScanJob(forge="github", repo=SAMPLE_REPO, reason="push", installation_id=1)
    run(forge, job)
    ((branch, changes, message),) = forge.commits
    (draft,) = forge.drafts
    return SamplePullRequest(draft.title, draft.body, branch, message, _diff(forge.files, changes))


def _diff(before: dict[str, bytes], changes: Sequence[FileChange]) -> str:
    """A unified diff of the commit, for reading: CRLF line ends (kept by the fix) shown as LF."""
    chunks: list[str] = []
    for change in sorted(changes, key=lambda change: change.path):
        old = before.get(change.path, b"").decode().splitlines(keepends=True)
        new = (change.content or b"").decode().splitlines(keepends=True)
        path = change.path
        chunks.extend(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
    return "".join(chunks).replace("\r\n", "\n")


def _fence(text: str, info: str) -> str:
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


def sample_pr_page() -> str:
    sample = sample_pull_request()
    return "\n".join(
        [
            GENERATED_NOTE.format(source="examples/demo through workers.scan.run.run"),
            "",
            "# Sample pull request",
            "",
            "What the bot opens on its first scan of [`examples/demo`](../examples/demo)"
            " (no `.pullpolicy.yml`, so the defaults). The generator runs the bot's own scan"
            " (`workers.scan.run.run`: config, file list, core, `ensure_fix_pr`) against an"
            " in-memory"
            " GitHub repository holding that tree, so every byte below is what the bot would"
            " write. `make demo` opens the same pull request through a real webhook, queue and"
            " local forge.",
            "",
            f"- **Branch:** {code_span(sample.branch)}, one commit on the default branch's head",
            f"- **Title:** {code_span(sample.title)}",
            "",
            "## Commit message",
            "",
            _fence(sample.commit_message, "text"),
            "",
            "## Diff",
            "",
            _fence(sample.diff, "diff"),
            "",
            "## Body",
            "",
            "Rendered as posted, from the next heading to the end of this page. Its last line is"
            " the hidden marker (an HTML comment) with the tool version and the fingerprints of"
            " the fixes: the state the bot reads back on its next scan.",
            "",
            "---",
            "",
            sample.body,
        ]
    ) + ("\n" if not sample.body.endswith("\n") else "")
