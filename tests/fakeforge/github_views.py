"""GitHub REST JSON shapes, every URL absolute and built from the request's origin.

Field sets follow the response schemas in GitHub's OpenAPI description (vendored in
openapi/github_schemas.json and checked by tests/fakeforge_selftest).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakeforge.app_manifests import CreatedApp
from tests.fakeforge.records import ChangeRequest, CheckRun, Comment, Label
from tests.fakeforge.state import Repository
from tests.fakeforge.store import CommitInfo, FileChange, Signature, TreeEntry

JsonObject = dict[str, Any]
_TYPE_NAMES = {"user": "User", "bot": "Bot", "org": "Organization"}


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp format: UTC with a Z."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int | str) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def encode_content(data: bytes) -> str:
    """Base64 wrapped at 60 characters, newline-terminated, as GitHub sends file content."""
    flat = base64.b64encode(data).decode()
    return "".join(flat[i : i + 60] + "\n" for i in range(0, len(flat), 60))


@dataclass(frozen=True)
class GitHubView:
    """Renders records for one request: `origin` is http://host:port from its Host header."""

    origin: str

    @property
    def api(self) -> str:
        return f"{self.origin}/api/v3"

    def repo_api(self, repo: Repository) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_html(self, repo: Repository) -> str:
        return f"{self.origin}/{repo.full_name}"

    # -- people -----------------------------------------------------------------------------

    def user(self, login: str, user_id: int) -> JsonObject:
        kind = "Bot" if login.endswith("[bot]") else "User"
        url = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": user_id,
            "node_id": node_id("User", user_id),
            "avatar_url": f"{self.origin}/avatars/{login}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.origin}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": kind,
            "site_admin": False,
        }

    # -- repositories -------------------------------------------------------------------------

    def repository(self, repo: Repository, owner_id: int) -> JsonObject:
        api = self.repo_api(repo)
        created = iso(repo.created_at)
        templated = {
            "archive_url": "{archive_format}{/ref}",
            "assignees_url": "assignees{/user}",
            "blobs_url": "git/blobs{/sha}",
            "branches_url": "branches{/branch}",
            "collaborators_url": "collaborators{/collaborator}",
            "comments_url": "comments{/number}",
            "commits_url": "commits{/sha}",
            "compare_url": "compare/{base}...{head}",
            "contents_url": "contents/{+path}",
            "git_commits_url": "git/commits{/sha}",
            "git_refs_url": "git/refs{/sha}",
            "git_tags_url": "git/tags{/sha}",
            "issue_comment_url": "issues/comments{/number}",
            "issue_events_url": "issues/events{/number}",
            "issues_url": "issues{/number}",
            "keys_url": "keys{/key_id}",
            "labels_url": "labels{/name}",
            "milestones_url": "milestones{/number}",
            "notifications_url": "notifications{?since,all,participating}",
            "pulls_url": "pulls{/number}",
            "releases_url": "releases{/id}",
            "statuses_url": "statuses/{sha}",
            "trees_url": "git/trees{/sha}",
        }
        plain = [
            "contributors",
            "deployments",
            "downloads",
            "events",
            "forks",
            "hooks",
            "languages",
            "merges",
            "stargazers",
            "subscribers",
            "subscription",
            "tags",
            "teams",
        ]
        return {
            "id": repo.github_id,
            "node_id": node_id("Repository", repo.github_id),
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self.user(repo.owner, owner_id),
            "private": False,
            "visibility": "public",
            "html_url": self.repo_html(repo),
            "description": None,
            "fork": False,
            "url": api,
            **{key: f"{api}/{suffix}" for key, suffix in templated.items()},
            **{f"{name}_url": f"{api}/{name}" for name in plain},
            "clone_url": f"{self.origin}/git/{repo.full_name}.git",
            "git_url": f"{self.origin}/git/{repo.full_name}.git",
            "ssh_url": f"git@{self.origin.split('//', 1)[1]}:{repo.full_name}.git",
            "svn_url": self.repo_html(repo),
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "default_branch": repo.default_branch,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "open_issues": 0,
            "open_issues_count": 0,
            "size": 0,
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": False,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "topics": [],
            "pushed_at": created,
            "created_at": created,
            "updated_at": created,
            "network_count": 0,
            "subscribers_count": 0,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
        }

    # -- git data ------------------------------------------------------------------------------

    def _git_user(self, signature: Signature) -> JsonObject:
        return {"name": signature.name, "email": signature.email, "date": iso(signature.when)}

    def _parents(self, repo: Repository, info: CommitInfo, git_api: bool) -> list[JsonObject]:
        base = f"{self.repo_api(repo)}/{'git/commits' if git_api else 'commits'}"
        return [
            {"sha": p, "url": f"{base}/{p}", "html_url": f"{self.repo_html(repo)}/commit/{p}"}
            for p in info.parents
        ]

    def _verification(self) -> JsonObject:
        return {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        }

    def git_commit(self, repo: Repository, info: CommitInfo) -> JsonObject:
        api = self.repo_api(repo)
        return {
            "sha": info.sha,
            "node_id": node_id("Commit", info.sha),
            "url": f"{api}/git/commits/{info.sha}",
            "html_url": f"{self.repo_html(repo)}/commit/{info.sha}",
            "author": self._git_user(info.author),
            "committer": self._git_user(info.committer),
            "message": info.message,
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "parents": self._parents(repo, info, git_api=True),
            "verification": self._verification(),
        }

    def commit(
        self, repo: Repository, info: CommitInfo, files: list[FileChange] | None = None
    ) -> JsonObject:
        """The REST "commit" shape (/commits, /branches, /compare), optionally with files."""
        api = self.repo_api(repo)
        result: JsonObject = {
            "sha": info.sha,
            "node_id": node_id("Commit", info.sha),
            "url": f"{api}/commits/{info.sha}",
            "html_url": f"{self.repo_html(repo)}/commit/{info.sha}",
            "comments_url": f"{api}/commits/{info.sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{info.sha}",
                "author": self._git_user(info.author),
                "committer": self._git_user(info.committer),
                "message": info.message,
                "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "verification": self._verification(),
            },
            # Authors are not GitHub accounts here; GitHub sends null for unknown emails too.
            "author": None,
            "committer": None,
            "parents": self._parents(repo, info, git_api=False),
        }
        if files is not None:
            result["files"] = [self.diff_entry(repo, info.sha, change) for change in files]
            additions = sum(change.additions for change in files)
            deletions = sum(change.deletions for change in files)
            result["stats"] = {
                "additions": additions,
                "deletions": deletions,
                "total": additions + deletions,
            }
        return result

    def diff_entry(self, repo: Repository, sha: str, change: FileChange) -> JsonObject:
        entry: JsonObject = {
            "sha": change.new_sha if change.status != "removed" else change.old_sha,
            "filename": change.path,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{self.repo_html(repo)}/blob/{sha}/{change.path}",
            "raw_url": f"{self.repo_html(repo)}/raw/{sha}/{change.path}",
            "contents_url": f"{self.repo_api(repo)}/contents/{change.path}?ref={sha}",
            "patch": change.patch,
        }
        if change.status == "renamed":
            entry["previous_filename"] = change.old_path
        return entry

    def branch(self, repo: Repository, name: str, info: CommitInfo) -> JsonObject:
        api = self.repo_api(repo)
        return {
            "name": name,
            "commit": self.commit(repo, info),
            "_links": {
                "self": f"{api}/branches/{name}",
                "html": f"{self.repo_html(repo)}/tree/{name}",
            },
            # REST says protected for a ruleset too (its `protection` shows the legacy rule only).
            "protected": name in repo.protected or name in repo.ruleset_protected,
            "protection": {
                "enabled": name in repo.protected,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{api}/branches/{name}/protection",
        }

    def tree(
        self, repo: Repository, sha: str, entries: list[TreeEntry], truncated: bool
    ) -> JsonObject:
        api = self.repo_api(repo)
        items = []
        for entry in entries:
            item: JsonObject = {
                "path": entry.path,
                "mode": entry.mode.lstrip("0") if entry.type == "tree" else entry.mode,
                "type": entry.type,
                "sha": entry.sha,
            }
            if entry.type == "blob":
                item["size"] = entry.size
                item["url"] = f"{api}/git/blobs/{entry.sha}"
            elif entry.type == "tree":
                item["url"] = f"{api}/git/trees/{entry.sha}"
            items.append(item)
        return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": items, "truncated": truncated}

    def blob(self, repo: Repository, sha: str, data: bytes) -> JsonObject:
        return {
            "sha": sha,
            "node_id": node_id("Blob", sha),
            "size": len(data),
            "url": f"{self.repo_api(repo)}/git/blobs/{sha}",
            "content": encode_content(data),
            "encoding": "base64",
        }

    def short_blob(self, repo: Repository, sha: str) -> JsonObject:
        return {"sha": sha, "url": f"{self.repo_api(repo)}/git/blobs/{sha}"}

    def ref(self, repo: Repository, name: str, sha: str, object_type: str) -> JsonObject:
        api = self.repo_api(repo)
        kind = {"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}[object_type]
        return {
            "ref": name,
            "node_id": node_id("Ref", f"{repo.github_id}:{name}"),
            "url": f"{api}/git/{name}",
            "object": {"type": object_type, "sha": sha, "url": f"{api}/git/{kind}/{sha}"},
        }

    def content_entry(
        self, repo: Repository, ref: str, entry: TreeEntry, data: bytes | None
    ) -> JsonObject:
        api = self.repo_api(repo)
        kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.type]
        if entry.mode == "120000":
            kind = "symlink"
        git_url = f"{api}/git/{'trees' if entry.type == 'tree' else 'blobs'}/{entry.sha}"
        html_url = (
            f"{self.repo_html(repo)}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{entry.path}"
        )
        self_url = f"{api}/contents/{entry.path}?ref={ref}"
        result: JsonObject = {
            "type": kind,
            "name": entry.path.rpartition("/")[2],
            "path": entry.path,
            "sha": entry.sha,
            "size": entry.size or 0,
            "url": self_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": f"{self.repo_html(repo)}/raw/{ref}/{entry.path}"
            if kind == "file"
            else None,
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }
        if data is not None:
            result["content"] = encode_content(data)
            result["encoding"] = "base64"
        return result

    def comparison(
        self,
        repo: Repository,
        spec: str,
        base: CommitInfo,
        merge_base: CommitInfo,
        commits: list[CommitInfo],
        behind_by: int,
        files: list[FileChange],
    ) -> JsonObject:
        ahead_by = len(commits)
        if ahead_by and behind_by:
            status = "diverged"
        elif ahead_by:
            status = "ahead"
        else:
            status = "behind" if behind_by else "identical"
        html = f"{self.repo_html(repo)}/compare/{spec}"
        return {
            "url": f"{self.repo_api(repo)}/compare/{spec}",
            "html_url": html,
            "permalink_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": self.commit(repo, base),
            "merge_base_commit": self.commit(repo, merge_base),
            "status": status,
            "ahead_by": ahead_by,
            "behind_by": behind_by,
            "total_commits": ahead_by,
            "commits": [self.commit(repo, info) for info in commits],
            "files": [
                self.diff_entry(repo, commits[-1].sha if commits else base.sha, f) for f in files
            ],
        }

    # -- pull requests and issues ---------------------------------------------------------------

    def label(self, repo: Repository, label: Label) -> JsonObject:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_api(repo)}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": False,
        }

    def comment(
        self, repo: Repository, number: int, comment: Comment, author_id: int
    ) -> JsonObject:
        api = self.repo_api(repo)
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{api}/issues/comments/{comment.id}",
            "html_url": f"{self.repo_html(repo)}/pull/{number}#issuecomment-{comment.id}",
            "issue_url": f"{api}/issues/{number}",
            "body": comment.body,
            "user": self.user(comment.author, author_id),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": "NONE",
        }

    def _issue_common(
        self, repo: Repository, change: ChangeRequest, people: dict[str, int]
    ) -> JsonObject:
        api = self.repo_api(repo)
        assignees = [self.user(login, people[login]) for login in change.assignees]
        return {
            "id": change.id,
            "number": change.number,
            "state": change.state,
            "locked": False,
            "title": change.title,
            "body": change.body or None,
            "user": self.user(change.author, people[change.author]),
            "labels": [self.label(repo, repo.records.labels[name]) for name in change.labels],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "created_at": iso(change.created_at),
            "updated_at": iso(change.updated_at),
            "closed_at": iso(change.closed_at),
            "author_association": "NONE",
            "comments_url": f"{api}/issues/{change.number}/comments",
            "active_lock_reason": None,
        }

    def issue(self, repo: Repository, change: ChangeRequest, people: dict[str, int]) -> JsonObject:
        api = self.repo_api(repo)
        html = f"{self.repo_html(repo)}/pull/{change.number}"
        return {
            **self._issue_common(repo, change, people),
            "node_id": node_id("Issue", change.id),
            "url": f"{api}/issues/{change.number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{change.number}/labels{{/name}}",
            "events_url": f"{api}/issues/{change.number}/events",
            "html_url": html,
            "comments": len(change.comments),
            "pull_request": {
                "url": f"{api}/pulls/{change.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(change.merged_at),
            },
        }

    def pull(
        self,
        repo: Repository,
        change: ChangeRequest,
        people: dict[str, int],
        shas: tuple[str, str],
        full: bool,
        head_repo: Repository | None = None,
    ) -> JsonObject:
        """`shas`: (head sha, base sha). `full` adds the fields only GET /pulls/{n} carries.
        `head_repo`: the fork a pull request comes from."""
        api = self.repo_api(repo)
        html = f"{self.repo_html(repo)}/pull/{change.number}"
        url = f"{api}/pulls/{change.number}"
        repo_json = self.repository(repo, people[repo.owner])
        owner = self.user(repo.owner, people[repo.owner])

        def side(branch: str, sha: str, where: Repository | None = None) -> JsonObject:
            if where is None:
                return {
                    "label": f"{repo.owner}:{branch}",
                    "ref": branch,
                    "sha": sha,
                    "user": owner,
                    "repo": repo_json,
                }
            where_owner = people[where.owner]  # every repository's owner has an id
            return {
                "label": f"{where.owner}:{branch}",
                "ref": branch,
                "sha": sha,
                "user": self.user(where.owner, where_owner),
                "repo": self.repository(where, where_owner),
            }

        result: JsonObject = {
            **self._issue_common(repo, change, people),
            "node_id": node_id("PullRequest", change.id),
            "url": url,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{change.number}",
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "statuses_url": f"{api}/statuses/{shas[0]}",
            "merged_at": iso(change.merged_at),
            "merge_commit_sha": change.merge_commit_sha,
            "requested_reviewers": [self.user(login, people[login]) for login in change.reviewers],
            "requested_teams": [],
            "head": side(change.source_branch, shas[0], head_repo),
            "base": side(change.target_branch, shas[1]),
            "_links": {
                name: {"href": href}
                for name, href in {
                    "self": url,
                    "html": html,
                    "issue": f"{api}/issues/{change.number}",
                    "comments": f"{api}/issues/{change.number}/comments",
                    "review_comments": f"{url}/comments",
                    "review_comment": f"{api}/pulls/comments{{/number}}",
                    "commits": f"{url}/commits",
                    "statuses": f"{api}/statuses/{shas[0]}",
                }.items()
            },
            "auto_merge": None,
            "draft": change.draft,
        }
        if full:
            merged_by = change.merged_by
            result |= {
                "merged": change.merged,
                "mergeable": None if change.state == "closed" else True,
                "rebaseable": None,
                "mergeable_state": "unknown" if change.state == "closed" else "clean",
                "merged_by": self.user(merged_by, people[merged_by]) if merged_by else None,
                "comments": len(change.comments),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": 1,
                "additions": 0,
                "deletions": 0,
                "changed_files": 0,
            }
        return result

    # -- checks and apps ---------------------------------------------------------------------------

    def check_run(self, repo: Repository, run: CheckRun, app: JsonObject | None) -> JsonObject:
        url = f"{self.repo_api(repo)}/check-runs/{run.id}"
        return {
            "id": run.id,
            "node_id": node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id,
            "name": run.name,
            "url": url,
            "html_url": f"{self.repo_html(repo)}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{url}/annotations",
            },
            "check_suite": {"id": run.id},
            "app": app,
            "pull_requests": [],
        }

    def app(self, app_id: int, owner_login: str, owner_id: int) -> JsonObject:
        return {
            "id": app_id,
            "slug": f"app-{app_id}",
            "node_id": node_id("App", app_id),
            "owner": self.user(owner_login, owner_id),
            "name": f"App {app_id}",
            "description": None,
            "external_url": self.origin,
            "html_url": f"{self.origin}/apps/app-{app_id}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": {
                "checks": "write",
                "contents": "write",
                "pull_requests": "write",
                "metadata": "read",
            },
            "events": ["push", "pull_request", "installation"],
        }

    def manifest_app(self, app: CreatedApp, owner_id: int) -> JsonObject:
        """An App registered through the manifest flow, as GET /app and the conversion show it."""
        owner = self.user(app.owner, owner_id)
        owner["type"] = app.owner_type
        created = iso(app.created_at)
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("Integration", app.id),
            "client_id": app.client_id,
            "owner": owner,
            "name": app.name,
            "description": app.manifest.get("description") or "",
            "external_url": app.manifest.get("url"),
            "html_url": f"{self.origin}/apps/{app.slug}",
            "created_at": created,
            "updated_at": created,
            "permissions": app.permissions,
            "events": app.events,
        }

    def installation(
        self, installation_id: int, app_id: int, account: str, account_id: int
    ) -> JsonObject:
        return {
            "id": installation_id,
            "app_id": app_id,
            "app_slug": f"app-{app_id}",
            "client_id": f"Iv1.{app_id:016x}",
            "target_id": account_id,
            "target_type": "User",
            "account": self.user(account, account_id),
            "single_file_name": None,
            "repository_selection": "selected",
            "access_tokens_url": f"{self.api}/app/installations/{installation_id}/access_tokens",
            "html_url": f"{self.origin}/settings/installations/{installation_id}",
            "repositories_url": f"{self.api}/installation/repositories",
            "events": ["push", "pull_request", "installation"],
            "permissions": {
                "checks": "write",
                "contents": "write",
                "pull_requests": "write",
                "metadata": "read",
            },
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "suspended_by": None,
            "suspended_at": None,
        }
