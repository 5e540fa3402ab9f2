"""GitLab v4 JSON shapes, web URLs built from the request's origin (GitLab lives under /gitlab).

Field sets follow GitLab's REST documentation; tests/fakeforge_selftest checks the fields
python-gitlab and the bot read (openapi/gitlab_fields.json).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakeforge.records import ChangeRequest, Comment, CommitStatus
from tests.fakeforge.state import Repository
from tests.fakeforge.store import CommitInfo, FileChange, TreeEntry

JsonObject = dict[str, Any]


def iso(moment: datetime | None) -> str | None:
    """GitLab's timestamp format: milliseconds and an explicit offset."""
    if moment is None:
        return None
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if moment.tzinfo == UTC else text


def draft_title(change: ChangeRequest) -> str:
    return f"Draft: {change.title}" if change.draft else change.title


def mr_state(change: ChangeRequest) -> str:
    return "merged" if change.merged else "opened" if change.state == "open" else "closed"


def source_project_id(repo: Repository, change: ChangeRequest) -> int:
    """The project a merge request's branch lives in: a fork's has an id of its own."""
    if change.head_repo is None:
        return repo.project_id
    return FORK_PROJECT_IDS + zlib.crc32(change.head_repo.encode()) % FORK_PROJECT_IDS


FORK_PROJECT_IDS = 1_000_000  # forks' ids start here, far above the fake's own projects


@dataclass(frozen=True)
class GitLabView:
    origin: str

    @property
    def web(self) -> str:
        return f"{self.origin}/gitlab"

    def user(self, login: str, user_id: int) -> JsonObject:
        return {
            "id": user_id,
            "username": login,
            "name": login,
            "state": "active",
            "locked": False,
            "avatar_url": f"{self.web}/uploads/-/system/user/avatar/{user_id}/avatar.png",
            "web_url": f"{self.web}/{login}",
        }

    def project(self, repo: Repository, namespace_id: int) -> JsonObject:
        web_url = f"{self.web}/{repo.full_name}"
        api = f"{self.web}/api/v4/projects/{repo.project_id}"
        created = iso(repo.created_at)
        return {
            "id": repo.project_id,
            "description": None,
            "name": repo.name,
            "name_with_namespace": f"{repo.owner.replace('/', ' / ')} / {repo.name}",
            "path": repo.name,
            "path_with_namespace": repo.full_name,
            "created_at": created,
            "last_activity_at": created,
            "default_branch": repo.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@{self.origin.split('//', 1)[1]}:{repo.full_name}.git",
            "http_url_to_repo": f"{self.origin}/git/{repo.full_name}.git",
            "web_url": web_url,
            "readme_url": None,
            "avatar_url": None,
            "forks_count": 0,
            "star_count": 0,
            "visibility": "private",
            "archived": False,
            "empty_repo": False,
            "namespace": {
                "id": namespace_id,
                "name": repo.owner.rpartition("/")[2],
                "path": repo.owner.rpartition("/")[2],
                "kind": "group" if "/" in repo.owner else "user",
                "full_path": repo.owner,
                "parent_id": None,
                "avatar_url": None,
                "web_url": f"{self.web}/{repo.owner}",
            },
            "_links": {
                "self": api,
                "merge_requests": f"{api}/merge_requests",
                "repo_branches": f"{api}/repository/branches",
            },
        }

    # -- repository ------------------------------------------------------------------------------

    def commit(
        self, repo: Repository, info: CommitInfo, stats: list[FileChange] | None = None
    ) -> JsonObject:
        """The list shape; with `stats` the single-commit shape (stats, status, project_id)."""
        result: JsonObject = {
            "id": info.sha,
            "short_id": info.sha[:8],
            "created_at": iso(info.committer.when),
            "parent_ids": list(info.parents),
            "title": info.title,
            "message": info.message,
            "author_name": info.author.name,
            "author_email": info.author.email,
            "authored_date": iso(info.author.when),
            "committer_name": info.committer.name,
            "committer_email": info.committer.email,
            "committed_date": iso(info.committer.when),
            "trailers": {},
            "extended_trailers": {},
            "web_url": f"{self.web}/{repo.full_name}/-/commit/{info.sha}",
        }
        if stats is not None:
            additions = sum(change.additions for change in stats)
            deletions = sum(change.deletions for change in stats)
            result |= {
                "stats": {
                    "additions": additions,
                    "deletions": deletions,
                    "total": additions + deletions,
                },
                "status": None,
                "project_id": repo.project_id,
                "last_pipeline": None,
            }
        return result

    def branch(self, repo: Repository, name: str, info: CommitInfo) -> JsonObject:
        is_default = name == repo.default_branch
        return {
            "name": name,
            "commit": self.commit(repo, info),
            "merged": False,
            # GitLab protects the default branch of a new project.
            "protected": is_default or name in repo.protected,
            "default": is_default,
            "developers_can_push": False,
            "developers_can_merge": False,
            "can_push": True,
            "web_url": f"{self.web}/{repo.full_name}/-/tree/{name}",
        }

    def tree_entry(self, entry: TreeEntry) -> JsonObject:
        return {
            "id": entry.sha,
            "name": entry.path.rpartition("/")[2],
            "type": entry.type,
            "path": entry.path,
            "mode": entry.mode,
        }

    def file(
        self, ref: str, commit: str, entry: TreeEntry, data: bytes, last_commit: str
    ) -> JsonObject:
        return {
            "file_name": entry.path.rpartition("/")[2],
            "file_path": entry.path,
            "size": len(data),
            "encoding": "base64",
            "content": base64.b64encode(data).decode(),
            "content_sha256": hashlib.sha256(data).hexdigest(),
            "ref": ref,
            "blob_id": entry.sha,
            "commit_id": commit,
            "last_commit_id": last_commit,
            "execute_filemode": entry.mode == "100755",
        }

    def diff(self, change: FileChange) -> JsonObject:
        return {
            "old_path": change.old_path,
            "new_path": change.path,
            "a_mode": "0" if change.status == "added" else change.old_mode,
            "b_mode": "0" if change.status == "removed" else change.new_mode,
            "diff": change.patch,
            "new_file": change.status == "added",
            "renamed_file": change.status == "renamed",
            "deleted_file": change.status == "removed",
            "generated_file": False,
            "collapsed": False,
            "too_large": False,
        }

    # -- merge requests --------------------------------------------------------------------------

    def merge_request(
        self,
        repo: Repository,
        change: ChangeRequest,
        people: dict[str, int],
        shas: tuple[str, str],
    ) -> JsonObject:
        """`shas`: (head sha, base sha)."""
        head_sha, base_sha = shas
        state = mr_state(change)
        assignees = [self.user(login, people[login]) for login in change.assignees]
        merged_by = (
            self.user(change.merged_by, people[change.merged_by]) if change.merged_by else None
        )
        return {
            "id": change.id,
            "iid": change.number,
            "project_id": repo.project_id,
            "title": draft_title(change),
            "description": change.body,
            "state": state,
            "created_at": iso(change.created_at),
            "updated_at": iso(change.updated_at),
            "merged_by": merged_by,
            "merge_user": merged_by,
            "merged_at": iso(change.merged_at),
            "closed_by": None,
            "closed_at": iso(change.closed_at) if not change.merged else None,
            "target_branch": change.target_branch,
            "source_branch": change.source_branch,
            "user_notes_count": len(change.comments),
            "upvotes": 0,
            "downvotes": 0,
            "author": self.user(change.author, people[change.author]),
            "assignees": assignees,
            "assignee": assignees[0] if assignees else None,
            "reviewers": [self.user(login, people[login]) for login in change.reviewers],
            "source_project_id": source_project_id(repo, change),
            "target_project_id": repo.project_id,
            "labels": list(change.labels),
            "draft": change.draft,
            "work_in_progress": change.draft,
            "milestone": None,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "draft_status" if change.draft else "mergeable",
            "sha": head_sha,
            "merge_commit_sha": change.merge_commit_sha,
            "squash_commit_sha": None,
            "discussion_locked": None,
            "should_remove_source_branch": None,
            "force_remove_source_branch": False,
            "reference": f"!{change.number}",
            "references": {
                "short": f"!{change.number}",
                "relative": f"!{change.number}",
                "full": f"{repo.full_name}!{change.number}",
            },
            "web_url": f"{self.web}/{repo.full_name}/-/merge_requests/{change.number}",
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "squash": False,
            "squash_on_merge": False,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": False,
            "blocking_discussions_resolved": True,
            "subscribed": True,
            "changes_count": None,
            "diff_refs": {"base_sha": base_sha, "head_sha": head_sha, "start_sha": base_sha},
            "merge_error": None,
            "first_contribution": False,
            "prepared_at": iso(change.created_at),
            "imported": False,
            "imported_from": "none",
            "user": {"can_merge": True},
        }

    def note(
        self, repo: Repository, change: ChangeRequest, comment: Comment, author_id: int
    ) -> JsonObject:
        return {
            "id": comment.id,
            "type": None,
            "body": comment.body,
            "attachment": None,
            "author": self.user(comment.author, author_id),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "system": False,
            "noteable_id": change.id,
            "noteable_type": "MergeRequest",
            "noteable_iid": change.number,
            "project_id": repo.project_id,
            "resolvable": False,
            "confidential": False,
            "internal": False,
        }

    def status(self, status: CommitStatus, author_id: int) -> JsonObject:
        return {
            "id": status.id,
            "sha": status.sha,
            "ref": status.ref,
            "status": status.status,
            "name": status.name,
            "target_url": status.target_url,
            "description": status.description,
            "created_at": iso(status.created_at),
            "started_at": iso(status.started_at),
            "finished_at": iso(status.finished_at),
            "allow_failure": False,
            "coverage": status.coverage,
            "pipeline_id": None,
            "author": self.user(status.author, author_id),
        }
