"""GitLab project, branch, tree, file, blob, commit and compare endpoints."""

from __future__ import annotations

import base64
import binascii
from typing import NoReturn

from tests.fakeforge.gitlab_common import (
    bad_request,
    caller_login,
    fail,
    missing,
    not_found,
    project,
    truthy,
    view,
)
from tests.fakeforge.pagination import GITLAB_PAGES, gitlab_headers, paginate
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import (
    BLOB_MODE,
    EXECUTABLE_MODE,
    CommitInfo,
    FileChange,
    RefUpdateRejected,
    Signature,
    TreeEdit,
    TreeEntry,
)
from tests.fakeforge.web import ApiCall, ApiError, JsonObject, Response, Route, json_response, route

Params = dict[str, str]
_ACTIONS = {"create", "update", "delete", "move", "chmod"}


class GitLabRepositoryRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        base = "projects/{id}"
        repo = f"{base}/repository"
        return [
            route("GET", "groups/{id}/projects", self.group_projects),
            route("GET", base, self.get_project),
            route("GET", f"{repo}/branches", self.list_branches),
            route("POST", f"{repo}/branches", self.create_branch),
            route("GET", f"{repo}/branches/{{branch}}", self.get_branch),
            route("DELETE", f"{repo}/branches/{{branch}}", self.delete_branch),
            route("GET", f"{repo}/tree", self.tree),
            route("GET", f"{repo}/files/{{path}}", self.get_file),
            route("GET", f"{repo}/files/{{path}}/raw", self.raw_file),
            route("GET", f"{repo}/blobs/{{sha}}", self.get_blob),
            route("GET", f"{repo}/blobs/{{sha}}/raw", self.raw_blob),
            route("GET", f"{repo}/commits", self.list_commits),
            route("POST", f"{repo}/commits", self.create_commit),
            route("GET", f"{repo}/commits/{{sha}}", self.get_commit),
            route("GET", f"{repo}/compare", self.compare),
        ]

    def _project(self, call: ApiCall, params: Params) -> Repository:
        return project(self.state, call, params["id"])

    def group_projects(self, call: ApiCall, params: Params) -> Response:
        """A group is every owner path that projects sit under (no group records of its own):
        404 when the caller sees no project in it, as for a group it cannot see."""
        group = params["id"].strip("/")
        nested = truthy(call.request.arg("include_subgroups"))
        assert call.principal is not None
        seen = sorted(
            (repo for repo in self.state.repos.values() if call.principal.can_see(repo.full_name)),
            key=lambda repo: repo.project_id,
        )
        found = [
            repo
            for repo in seen
            if repo.owner == group or (nested and repo.owner.startswith(group + "/"))
        ]
        if not found and not any(repo.owner.startswith(group + "/") for repo in seen):
            not_found("Group")
        page_repos, page = paginate(found, call.request, GITLAB_PAGES, self.state.page_size_cap)
        gitlab = view(call)
        rendered = [gitlab.project(r, self.state.user_id(r.owner)) for r in page_repos]
        return json_response(200, rendered, gitlab_headers(call.request, page))

    def get_project(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        namespace_id = self.state.user_id(repo.owner)
        return json_response(200, view(call).project(repo, namespace_id))

    # -- branches --------------------------------------------------------------------------------

    def list_branches(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        search = call.request.arg("search") or ""
        names = sorted(name for name in repo.branches() if search in name)
        page_names, page = paginate(names, call.request, GITLAB_PAGES, self.state.page_size_cap)
        gitlab = view(call)
        rendered = [gitlab.branch(repo, n, _commit(repo, n)) for n in page_names]
        return json_response(200, rendered, gitlab_headers(call.request, page))

    def get_branch(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        head = repo.branch_head(params["branch"])
        if head is None:
            not_found("Branch")
        info = _commit(repo, head)  # the branch's, even where a tag has the same name
        return json_response(200, view(call).branch(repo, params["branch"], info))

    def create_branch(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        body = call.request.params()
        name, ref = body.get("branch"), body.get("ref")
        if not name:
            missing("branch")
        if not ref:
            missing("ref")
        sha = repo.bare.resolve_commit(str(ref))
        if sha is None:
            bad_request("Invalid reference name: " + str(ref))
        if not repo.bare.valid_ref_name(f"refs/heads/{name}"):
            bad_request("Branch name is invalid")
        try:
            repo.bare.update_ref(f"refs/heads/{name}", sha, None)
        except RefUpdateRejected:
            bad_request("Branch already exists")
        return json_response(201, view(call).branch(repo, str(name), _commit(repo, sha)))

    def delete_branch(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        head = repo.branch_head(params["branch"])
        if head is None:
            not_found("Branch")
        if params["branch"] == repo.default_branch:
            fail(405, "Cannot remove HEAD branch")
        try:
            repo.bare.delete_ref(f"refs/heads/{params['branch']}", head)
        except RefUpdateRejected:
            fail(409, "Branch was updated concurrently")
        return Response(204)

    # -- trees, files, blobs -----------------------------------------------------------------------

    def tree(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        request = call.request
        ref = request.arg("ref") or repo.default_branch
        commit = repo.bare.resolve_commit(ref)
        path = (request.arg("path") or "").strip("/")
        entry = repo.bare.entry(commit, path) if commit else None
        if entry is None or entry.type != "tree":
            not_found("Tree")
        entries = repo.bare.ls_tree(
            commit or "", recursive=truthy(request.arg("recursive", "false")), path=path
        )
        page_entries, page = paginate(entries, request, GITLAB_PAGES, self.state.page_size_cap)
        gitlab = view(call)
        return json_response(
            200, [gitlab.tree_entry(e) for e in page_entries], gitlab_headers(request, page)
        )

    def _file_entry(self, repo: Repository, ref: str, path: str) -> tuple[str, TreeEntry]:
        commit = repo.bare.resolve_commit(ref)
        entry = repo.bare.entry(commit, path) if commit else None
        if commit is None or entry is None or entry.type != "blob":
            not_found("File")
        return commit, entry

    def get_file(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        ref = call.request.arg("ref")
        if not ref:
            missing("ref")
        commit, entry = self._file_entry(repo, ref, params["path"])
        data = repo.bare.read_blob(entry.sha) or b""
        last = repo.bare.rev_list(commit, path=entry.path)[0]
        return json_response(200, view(call).file(ref, commit, entry, data, last))

    def raw_file(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        ref = call.request.arg("ref") or repo.default_branch
        _commit_sha, entry = self._file_entry(repo, ref, params["path"])
        return _raw(repo.bare.read_blob(entry.sha) or b"", entry.sha)

    def get_blob(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        data = repo.bare.read_blob(params["sha"])
        if data is None:
            not_found("Blob")
        encoded = base64.b64encode(data).decode()
        return json_response(
            200, {"size": len(data), "encoding": "base64", "content": encoded, "sha": params["sha"]}
        )

    def raw_blob(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        data = repo.bare.read_blob(params["sha"])
        if data is None:
            not_found("Blob")
        return _raw(data, params["sha"])

    # -- commits ----------------------------------------------------------------------------------

    def list_commits(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        request = call.request
        tip = repo.bare.resolve_commit(request.arg("ref_name") or repo.default_branch)
        if tip is None:
            not_found("Commit")
        shas = repo.bare.rev_list(tip, path=request.arg("path"))
        page_shas, page = paginate(shas, request, GITLAB_PAGES, self.state.page_size_cap)
        gitlab = view(call)
        rendered = [gitlab.commit(repo, _commit(repo, sha)) for sha in page_shas]
        return json_response(200, rendered, gitlab_headers(request, page))

    def get_commit(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        if repo.bare.resolve_commit(params["sha"]) is None:
            not_found("Commit")
        info = _commit(repo, params["sha"])
        return json_response(200, view(call).commit(repo, info, _changes(repo, info)))

    def compare(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        request = call.request
        source, target = request.arg("from"), request.arg("to")
        if not source:
            missing("from")
        if not target:
            missing("to")
        base, head = repo.bare.resolve_commit(source), repo.bare.resolve_commit(target)
        if base is None or head is None:
            not_found("Ref")
        straight = truthy(request.arg("straight", "false"))
        start = base if straight else repo.bare.merge_base(base, head) or base
        commits = [_commit(repo, sha) for sha in reversed(repo.bare.rev_list(head, exclude=base))]
        gitlab = view(call)
        web = f"{gitlab.web}/{repo.full_name}/-/compare/{source}...{target}"
        # GitLab's diff collection stops at diff_max_files and says it overflowed, which the
        # compare API names `compare_timeout`.
        changes = repo.bare.diff(start, head, limit=self.state.gitlab_diff_max_files + 1)
        cut = len(changes) > self.state.gitlab_diff_max_files
        changes = changes[: self.state.gitlab_diff_max_files]
        return json_response(
            200,
            {
                "commit": gitlab.commit(repo, commits[-1]) if commits else None,
                "commits": [gitlab.commit(repo, info) for info in commits],
                "diffs": [gitlab.diff(change) for change in changes],
                "compare_timeout": cut,
                "compare_same_ref": source == target,
                "web_url": web,
            },
        )

    def create_commit(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        body = call.request.params()
        for required in ("branch", "commit_message", "actions"):
            if not body.get(required):
                missing(required)
        branch = str(body["branch"])
        parent = self._commit_parent(repo, body, branch)
        edits = _action_edits(repo, parent, body["actions"])
        login = caller_login(self.state, call)
        committer = Signature.now(login, f"{login}@example.com")
        author = Signature.now(
            str(body.get("author_name") or committer.name),
            str(body.get("author_email") or committer.email),
        )
        sha = repo.commit(parent, edits, str(body["commit_message"]), author, committer)
        try:
            repo.bare.update_ref(f"refs/heads/{branch}", sha, repo.branch_head(branch))
        except RefUpdateRejected:
            bad_request("Could not update the branch: it was changed concurrently")
        info = _commit(repo, sha)
        return json_response(201, view(call).commit(repo, info, _changes(repo, info)))

    def _commit_parent(self, repo: Repository, body: JsonObject, branch: str) -> str:
        start_branch, start_sha = body.get("start_branch"), body.get("start_sha")
        if start_branch and start_sha:
            fail(400, "start_branch, start_sha are mutually exclusive")
        start = None
        if start_branch:
            start = repo.branch_head(str(start_branch))
        elif start_sha:
            start = repo.bare.resolve_commit(str(start_sha))
            if start is None:
                bad_request(f"Invalid start_sha: {start_sha}")
        head = repo.branch_head(branch)
        starts_elsewhere = bool(start_sha) or (bool(start_branch) and start_branch != branch)
        if head is not None:
            if starts_elsewhere and not truthy(body.get("force", False)):
                bad_request(
                    f"A branch called '{branch}' already exists. "
                    "Switch to that branch in order to make changes"
                )
            return start if starts_elsewhere and start else head
        if start is None:
            bad_request("You can only create or edit files when you are on a branch")
        return start


def _commit(repo: Repository, rev: str) -> CommitInfo:
    info = repo.bare.commit_info(rev)
    if info is None:
        not_found("Commit")
    return info


def _changes(repo: Repository, info: CommitInfo) -> list[FileChange]:
    parent = info.parents[0] if info.parents else repo.bare.build_tree(None, [])
    return repo.bare.diff(parent, info.sha)


def _raw(data: bytes, sha: str) -> Response:
    return Response(
        200,
        data,
        [("Content-Type", "text/plain; charset=utf-8"), ("X-Gitlab-Blob-Id", sha)],
    )


def _decode(action: JsonObject, index: int) -> bytes | None:
    content = action.get("content")
    if content is None:
        return None
    if action.get("encoding", "text") == "base64":
        try:
            return base64.b64decode(str(content), validate=True)
        except binascii.Error:
            bad_request(f"actions[{index}][content] is not valid base64")
    return str(content).encode()


def _action_edits(repo: Repository, parent: str, actions: object) -> list[TreeEdit]:
    """Validate the actions against the parent's files (as GitLab does) and turn them into edits."""
    if not isinstance(actions, list):
        fail(400, "actions is invalid")
    files = {e.path: e for e in repo.bare.ls_tree(parent, recursive=True) if e.type == "blob"}
    edits: list[TreeEdit] = []
    for index, action in enumerate(actions):
        if not isinstance(action, dict) or action.get("action") not in _ACTIONS:
            raise_invalid(index)
        path = str(action.get("file_path") or "").strip("/")
        if not path:
            missing(f"actions[{index}][file_path]")
        kind = action["action"]
        _check_last_commit(
            repo, parent, action, path if kind != "move" else str(action.get("previous_path"))
        )
        data = _decode(action, index)
        mode = EXECUTABLE_MODE if truthy(action.get("execute_filemode", False)) else None
        if kind == "create":
            if path in files:
                bad_request("A file with this name already exists")
            edits.append(_write(repo, files, path, data or b"", mode or BLOB_MODE))
        elif kind == "update":
            if path not in files:
                bad_request("A file with this name doesn't exist")
            edits.append(_write(repo, files, path, data or b"", mode or files[path].mode))
        elif kind == "delete":
            if path not in files:
                bad_request("A file with this name doesn't exist")
            del files[path]
            edits.append(TreeEdit(path, BLOB_MODE, None))
        elif kind == "move":
            previous = str(action.get("previous_path") or "").strip("/")
            if previous not in files:
                bad_request("A file with this name doesn't exist")
            if path in files:
                bad_request("A file with this name already exists")
            old = files.pop(previous)
            edits.append(TreeEdit(previous, BLOB_MODE, None))
            if data is None:
                files[path] = TreeEntry(path, old.mode, "blob", old.sha, old.size)
                edits.append(TreeEdit(path, old.mode, old.sha))
            else:
                edits.append(_write(repo, files, path, data, old.mode))
        else:  # chmod
            if path not in files:
                bad_request("A file with this name doesn't exist")
            new_mode = EXECUTABLE_MODE if truthy(action.get("execute_filemode")) else BLOB_MODE
            edits.append(TreeEdit(path, new_mode, files[path].sha))
    return edits


def raise_invalid(index: int) -> NoReturn:
    raise ApiError(400, {"error": f"actions[{index}][action] does not have a valid value"})


def _write(
    repo: Repository, files: dict[str, TreeEntry], path: str, data: bytes, mode: str
) -> TreeEdit:
    sha = repo.bare.write_blob(data)
    files[path] = TreeEntry(path, mode, "blob", sha, len(data))
    return TreeEdit(path, mode, sha)


def _check_last_commit(repo: Repository, parent: str, action: JsonObject, path: str) -> None:
    expected = action.get("last_commit_id")
    if not expected:
        return
    touched = repo.bare.rev_list(parent, path=path)
    if touched and touched[0] != expected:
        bad_request(f"The file has changed since you started editing it: {path}")
