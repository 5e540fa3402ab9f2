"""GitHub repository reads and the Git Data API (blobs, trees, commits, refs)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from tests.fakeforge.github_common import (
    caller_login,
    fail,
    json_object,
    not_found,
    unprocessable,
    view,
    visible_repo,
)
from tests.fakeforge.pagination import GITHUB_PAGES, link_header, paginate
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import (
    BLOB_MODE,
    EXECUTABLE_MODE,
    TREE_MODE,
    CommitInfo,
    RefUpdateRejected,
    Signature,
    TreeEdit,
)
from tests.fakeforge.web import ApiCall, JsonObject, Response, Route, json_response, route

_TREE_MODES = {BLOB_MODE, EXECUTABLE_MODE, "040000", "160000", "120000"}
Params = dict[str, str]


class GitHubGitRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        base = "repos/{owner}/{repo}"
        return [
            route("GET", base, self.get_repo),
            route("GET", f"{base}/branches/{{branch*}}", self.get_branch),
            route("GET", f"{base}/git/refs", self.list_refs),
            route("GET", f"{base}/git/refs/{{ref*}}", self.get_refs_legacy),
            route("GET", f"{base}/git/ref/{{ref*}}", self.get_ref),
            route("GET", f"{base}/git/matching-refs/{{ref*}}", self.matching_refs),
            route("POST", f"{base}/git/refs", self.create_ref),
            route("PATCH", f"{base}/git/refs/{{ref*}}", self.update_ref),
            route("DELETE", f"{base}/git/refs/{{ref*}}", self.delete_ref),
            route("GET", f"{base}/git/trees/{{sha}}", self.get_tree),
            route("POST", f"{base}/git/trees", self.create_tree),
            route("GET", f"{base}/git/blobs/{{sha}}", self.get_blob),
            route("POST", f"{base}/git/blobs", self.create_blob),
            route("GET", f"{base}/git/commits/{{sha}}", self.get_git_commit),
            route("POST", f"{base}/git/commits", self.create_git_commit),
            route("GET", f"{base}/commits", self.list_commits),
            route("GET", f"{base}/commits/{{ref*}}", self.get_commit),
            route("GET", f"{base}/compare/{{spec*}}", self.compare),
            route("GET", f"{base}/contents", self.get_contents),
            route("GET", f"{base}/contents/{{path*}}", self.get_contents),
        ]

    def _repo(self, call: ApiCall, params: Params) -> Repository:
        return visible_repo(self.state, call, params["owner"], params["repo"])

    # -- repository and branches ---------------------------------------------------------------

    def get_repo(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        return json_response(200, view(call).repository(repo, self.state.user_id(repo.owner)))

    def get_branch(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        head = repo.branch_head(params["branch"])
        if head is None:
            not_found("Branch not found")
        info = _commit(repo, head)
        return json_response(200, view(call).branch(repo, params["branch"], info))

    # -- refs ----------------------------------------------------------------------------------

    def _ref_json(self, call: ApiCall, repo: Repository, name: str, sha: str) -> JsonObject:
        return view(call).ref(repo, name, sha, repo.bare.object_type(sha) or "commit")

    def list_refs(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        refs = repo.bare.refs()
        return json_response(200, [self._ref_json(call, repo, n, s) for n, s in refs.items()])

    def get_refs_legacy(self, call: ApiCall, params: Params) -> Response:
        """GET /git/refs/{ref}: one object on an exact match, else every ref it prefixes."""
        repo = self._repo(call, params)
        name = f"refs/{params['ref']}"
        refs = repo.bare.refs()
        if name in refs:
            return json_response(200, self._ref_json(call, repo, name, refs[name]))
        matches = [(n, s) for n, s in refs.items() if n.startswith(name)]
        if not matches:
            not_found()
        return json_response(200, [self._ref_json(call, repo, n, s) for n, s in matches])

    def get_ref(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        name = f"refs/{params['ref']}"
        sha = repo.bare.ref(name)
        if sha is None:
            not_found()
        return json_response(200, self._ref_json(call, repo, name, sha))

    def matching_refs(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        prefix = f"refs/{params['ref']}"
        matches = [(n, s) for n, s in repo.bare.refs().items() if n.startswith(prefix)]
        return json_response(200, [self._ref_json(call, repo, n, s) for n, s in matches])

    def create_ref(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        body = json_object(call)
        name, sha = body.get("ref"), body.get("sha")
        if not isinstance(name, str) or not isinstance(sha, str):
            unprocessable("Invalid request.")
        if not name.startswith("refs/") or name.count("/") < 2:
            unprocessable("Reference name must start with 'refs/' and have at least two slashes.")
        if not repo.bare.valid_ref_name(name):
            unprocessable(f"{name} is not a valid ref name.")
        if repo.bare.object_type(sha) is None:
            unprocessable("Object does not exist")
        try:
            repo.bare.update_ref(name, sha, None)
        except RefUpdateRejected:
            unprocessable("Reference already exists")
        return json_response(201, self._ref_json(call, repo, name, sha))

    def update_ref(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        name = f"refs/{params['ref']}"
        body = json_object(call)
        sha = body.get("sha")
        if not isinstance(sha, str):
            unprocessable("Invalid request.")
        current = repo.bare.ref(name)
        if current is None:
            unprocessable("Reference does not exist")
        if repo.bare.object_type(sha) is None:
            unprocessable("Object does not exist")
        forced = body.get("force") is True
        if not forced and current != sha and not repo.bare.is_ancestor(current, sha):
            unprocessable("Update is not a fast forward")
        try:
            repo.bare.update_ref(name, sha, current)
        except RefUpdateRejected:
            fail(409, "Reference update failed")
        return json_response(200, self._ref_json(call, repo, name, sha))

    def delete_ref(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        name = f"refs/{params['ref']}"
        current = repo.bare.ref(name)
        if current is None:
            unprocessable("Reference does not exist")
        try:
            repo.bare.delete_ref(name, current)
        except RefUpdateRejected:
            fail(409, "Reference update failed")
        return Response(204)

    # -- trees and blobs -----------------------------------------------------------------------

    def get_tree(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        tree = repo.bare.resolve_tree(params["sha"])
        if tree is None:
            not_found()
        # GitHub recurses when the parameter is present at all, whatever its value.
        recursive = "recursive" in call.request.query
        truncated = recursive and self.state.truncate_trees
        entries = repo.bare.ls_tree(tree, recursive=recursive and not truncated)
        return json_response(200, view(call).tree(repo, tree, entries, truncated))

    def create_tree(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        body = json_object(call)
        base_tree = body.get("base_tree")
        if base_tree is not None and (
            not isinstance(base_tree, str) or repo.bare.object_type(base_tree) != "tree"
        ):
            unprocessable("base_tree is not a valid tree oid")
        items = body.get("tree")
        if not isinstance(items, list):
            unprocessable("Invalid tree info")
        edits = [self._tree_edit(repo, item) for item in items]
        sha = repo.bare.build_tree(base_tree, edits)
        return json_response(
            201, view(call).tree(repo, sha, repo.bare.ls_tree(sha, recursive=False), False)
        )

    def _tree_edit(self, repo: Repository, item: object) -> TreeEdit:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            unprocessable("Invalid tree info")
        path, mode = item["path"], item.get("mode", BLOB_MODE)
        if mode not in _TREE_MODES:
            unprocessable(f"tree.mode contains a malformed mode: {mode}")
        if "content" in item and item.get("sha") is not None:
            unprocessable("Must supply either tree.sha or tree.content, not both")
        if isinstance(item.get("content"), str):
            return TreeEdit(path, mode, repo.bare.write_blob(item["content"].encode()))
        if "sha" not in item:
            unprocessable("Must supply either tree.sha or tree.content")
        sha = item["sha"]
        if sha is None:
            return TreeEdit(path, mode, None)
        expected = "tree" if mode == TREE_MODE else "commit" if mode == "160000" else "blob"
        if not isinstance(sha, str) or (
            expected != "commit" and repo.bare.object_type(sha) != expected
        ):
            unprocessable(f"tree.sha {sha} is not a valid {expected}")
        return TreeEdit(path, mode, sha)

    def get_blob(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        found = repo.bare.batch([params["sha"]]).get(params["sha"])
        if found is None or found[1] != "blob":
            not_found()
        full_sha, _, data = found
        return json_response(200, view(call).blob(repo, full_sha, data))

    def create_blob(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        body = json_object(call)
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        if not isinstance(content, str):
            unprocessable('Invalid request.\n\n"content" wasn\'t supplied.')
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=False)
            except binascii.Error:
                unprocessable("Content is not valid Base64")
        elif encoding in ("utf-8", "utf8"):
            data = content.encode()
        else:
            unprocessable(f"encoding {encoding!r} is not supported")
        sha = repo.bare.write_blob(data)
        return json_response(201, view(call).short_blob(repo, sha))

    # -- commits -------------------------------------------------------------------------------

    def get_git_commit(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        if repo.bare.object_type(params["sha"]) != "commit":
            not_found()
        return json_response(200, view(call).git_commit(repo, _commit(repo, params["sha"])))

    def create_git_commit(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        body = json_object(call)
        message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
        if not isinstance(message, str) or not isinstance(tree, str):
            unprocessable("Invalid request.")
        if repo.bare.object_type(tree) != "tree":
            unprocessable("Tree SHA does not exist")
        if not isinstance(parents, list) or any(
            not isinstance(p, str) or repo.bare.object_type(p) != "commit" for p in parents
        ):
            unprocessable("Parent SHA does not exist or is not a commit object")
        login = caller_login(self.state, call)
        default = Signature.now(login, _noreply(login, self.state.user_id(login)))
        author = _signature(body.get("author"), default)
        committer = _signature(body.get("committer"), author)
        sha = repo.bare.commit_tree(tree, parents, message, author, committer)
        return json_response(201, view(call).git_commit(repo, _commit(repo, sha)))

    def list_commits(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        start = call.request.arg("sha") or repo.default_branch
        tip = repo.bare.resolve_commit(start)
        if tip is None:
            if not repo.branches():
                fail(409, "Git Repository is empty.")
            not_found(f"No commit found for SHA: {start}")
        shas = repo.bare.rev_list(tip, path=call.request.arg("path"))
        page_shas, page = paginate(shas, call.request, GITHUB_PAGES, self.state.page_size_cap)
        commits = [view(call).commit(repo, _commit(repo, sha)) for sha in page_shas]
        return json_response(200, commits, link_header(call.request, page))

    def get_commit(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        sha = repo.bare.resolve_commit(params["ref"])
        if sha is None:
            unprocessable(f"No commit found for SHA: {params['ref']}")
        info = _commit(repo, sha)
        parent = info.parents[0] if info.parents else repo.bare.build_tree(None, [])
        return json_response(200, view(call).commit(repo, info, repo.bare.diff(parent, sha)))

    def compare(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        base_spec, separator, head_spec = params["spec"].partition("...")
        if not separator:
            not_found()
        base = repo.bare.resolve_commit(base_spec.rpartition(":")[2])
        head = repo.bare.resolve_commit(head_spec.rpartition(":")[2])
        if base is None or head is None:
            not_found()
        merge_base = repo.bare.merge_base(base, head)
        if merge_base is None:
            not_found(f"No common ancestor between {base_spec} and {head_spec}.")
        ahead = [_commit(repo, sha) for sha in reversed(repo.bare.rev_list(head, exclude=base))]
        behind_by = len(repo.bare.rev_list(base, exclude=head))
        comparison = view(call).comparison(
            repo,
            params["spec"],
            _commit(repo, base),
            _commit(repo, merge_base),
            ahead,
            behind_by,
            repo.bare.diff(merge_base, head),
        )
        return json_response(200, comparison)

    # -- contents ------------------------------------------------------------------------------

    def get_contents(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        ref = call.request.arg("ref") or repo.default_branch
        commit = repo.bare.resolve_commit(ref)
        if commit is None:
            not_found(f"No commit found for the ref {ref}")
        path = params.get("path", "").strip("/")
        entry = repo.bare.entry(commit, path)
        if entry is None:
            not_found()
        github = view(call)
        if entry.type == "tree":
            listing = repo.bare.ls_tree(commit, recursive=False, path=path)
            return json_response(200, [github.content_entry(repo, ref, e, None) for e in listing])
        data = repo.bare.read_blob(entry.sha) if entry.type == "blob" else None
        return json_response(200, github.content_entry(repo, ref, entry, data))


def _commit(repo: Repository, rev: str) -> CommitInfo:
    info = repo.bare.commit_info(rev)
    if info is None:
        not_found()
    return info


def _noreply(login: str, user_id: int) -> str:
    return f"{user_id}+{login}@users.noreply.github.com"


def _signature(raw: object, default: Signature) -> Signature:
    """A Git Data API author/committer object ({name, email, date?}) or the default."""
    if raw is None:
        return default
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("name"), str)
        or not isinstance(raw.get("email"), str)
    ):
        unprocessable("Invalid request.\n\nauthor/committer needs name and email.")
    when = default.when
    if isinstance(raw.get("date"), str):
        try:
            when = datetime.fromisoformat(raw["date"])
        except ValueError:
            unprocessable(f"Invalid date: {raw['date']}")
        if when.tzinfo is None:
            unprocessable(f"Invalid date: {raw['date']}")
    return Signature(raw["name"], raw["email"], when)
