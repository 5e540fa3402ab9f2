"""GitLab merge request diffs and discussions on the diff (with replies and resolving).

As GitLab does: a diff discussion's position must name the merge request's diff refs and a
new-side line of that file's diff (400 otherwise, nothing stored); a discussion is resolved
through `PUT .../discussions/:id?resolved=true`.
"""

from __future__ import annotations

import hashlib

from tests.fakeforge.github_reviews import hunks
from tests.fakeforge.gitlab_common import bad_request, caller_login, fail, project, truthy, view
from tests.fakeforge.gitlab_views import iso
from tests.fakeforge.pagination import GITLAB_PAGES, gitlab_headers, paginate
from tests.fakeforge.records import ChangeRequest, DiffComment
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import FileChange
from tests.fakeforge.web import ApiCall, JsonObject, Response, Route, json_response, route

Params = dict[str, str]
LINE_CODE = {"line_code": ["can't be blank", "must be a valid line code"]}


class GitLabDiscussionRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        mr = "projects/{id}/merge_requests/{iid}"
        one = f"{mr}/discussions/{{discussion_id}}"
        return [
            route("GET", f"{mr}/diffs", self.list_diffs),
            route("GET", f"{mr}/discussions", self.list_discussions),
            route("POST", f"{mr}/discussions", self.create_discussion),
            route("POST", f"{one}/notes", self.reply),
            route("PUT", one, self.resolve),
        ]

    def _mr(self, call: ApiCall, params: Params) -> tuple[Repository, ChangeRequest]:
        repo = project(self.state, call, params["id"])
        iid = params["iid"]
        change = repo.records.change_requests.get(int(iid)) if iid.isdigit() else None
        if change is None:
            fail(404, "404 Not found")
        return repo, change

    def _refs(self, repo: Repository, change: ChangeRequest) -> tuple[str, str]:
        """(merge base, head): the diff refs GitLab names `start_sha`/`base_sha`, `head_sha`."""
        head = repo.live_head(change)
        target = repo.branch_head(change.target_branch) or change.base_sha
        return repo.bare.merge_base(target, head) or change.base_sha, head

    def _diff(self, repo: Repository, change: ChangeRequest) -> list[FileChange]:
        return repo.bare.diff(*self._refs(repo, change))

    def list_diffs(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._mr(call, params)
        items, page = paginate(
            self._diff(repo, change), call.request, GITLAB_PAGES, self.state.page_size_cap
        )
        rendered = [view(call).diff(item) for item in items]
        return json_response(200, rendered, gitlab_headers(call.request, page))

    def _threads(self, change: ChangeRequest) -> dict[str, list[DiffComment]]:
        threads: dict[str, list[DiffComment]] = {}
        for comment in change.diff_comments:
            threads.setdefault(comment.discussion or str(comment.id), []).append(comment)
        return threads

    def list_discussions(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._mr(call, params)
        threads = list(self._threads(change).items())
        items, page = paginate(threads, call.request, GITLAB_PAGES, self.state.page_size_cap)
        rendered = [self._discussion(call, repo, change, key, notes) for key, notes in items]
        return json_response(200, rendered, gitlab_headers(call.request, page))

    def create_discussion(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._mr(call, params)
        body = call.request.params()
        text, position = body.get("body"), body.get("position")
        if not isinstance(text, str) or not text:
            bad_request("400 Bad request - body is missing")
        if not isinstance(position, dict):
            bad_request("400 Bad request - only diff discussions are served")
        start, head = self._refs(repo, change)
        if position.get("head_sha") != head or position.get("base_sha") not in (start, None):
            bad_request({"base": ["Position is outdated"]})
        path, line = position.get("new_path"), position.get("new_line")
        diff = {item.path: item for item in self._diff(repo, change)}
        line = int(line) if isinstance(line, int | str) and str(line).isdigit() else None
        if path not in diff or line is None:
            bad_request(LINE_CODE)
        if not any(a <= line <= b for a, b in hunks(diff[str(path)].patch)):
            bad_request(LINE_CODE)
        note = DiffComment(
            id=self.state.ids.next(),
            author=caller_login(self.state, call),
            path=str(path),
            body=text,
            commit_id=head,
            line=line,
            diff_hunk=diff[str(path)].patch,
        )
        note.discussion = hashlib.sha1(str(note.id).encode(), usedforsecurity=False).hexdigest()
        change.diff_comments.append(note)
        change.touch()
        return json_response(201, self._discussion(call, repo, change, note.discussion, [note]))

    def _thread(self, change: ChangeRequest, params: Params) -> list[DiffComment]:
        notes = self._threads(change).get(params["discussion_id"])
        if not notes:
            fail(404, "404 Not found")
        return notes

    def reply(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._mr(call, params)
        notes = self._thread(change, params)
        text = call.request.params().get("body")
        if not isinstance(text, str) or not text:
            bad_request("400 Bad request - body is missing")
        first = notes[0]
        answer = DiffComment(
            id=self.state.ids.next(),
            author=caller_login(self.state, call),
            path=first.path,
            body=text,
            commit_id=first.commit_id,
            line=first.line,
            in_reply_to=first.id,
            discussion=first.discussion,
            diff_hunk=first.diff_hunk,
        )
        change.diff_comments.append(answer)
        change.touch()
        return json_response(201, self._note(call, repo, change, answer))

    def resolve(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._mr(call, params)
        notes = self._thread(change, params)
        resolved = call.request.params().get("resolved")
        if resolved is None:
            bad_request("400 Bad request - resolved is missing")
        for note in notes:
            note.resolved = truthy(resolved)
        change.touch()
        key = params["discussion_id"]
        return json_response(200, self._discussion(call, repo, change, key, notes))

    # -- shapes ---------------------------------------------------------------------------------

    def _discussion(
        self,
        call: ApiCall,
        repo: Repository,
        change: ChangeRequest,
        key: str,
        notes: list[DiffComment],
    ) -> JsonObject:
        return {
            "id": key,
            "individual_note": False,
            "notes": [self._note(call, repo, change, note) for note in notes],
        }

    def _note(
        self, call: ApiCall, repo: Repository, change: ChangeRequest, note: DiffComment
    ) -> JsonObject:
        start, _ = self._refs(repo, change)
        return {
            "id": note.id,
            "type": "DiffNote",
            "body": note.body,
            "attachment": None,
            "author": view(call).user(note.author, self.state.user_id(note.author)),
            "created_at": iso(note.created_at),
            "updated_at": iso(note.updated_at),
            "system": False,
            "noteable_id": change.id,
            "noteable_type": "MergeRequest",
            "noteable_iid": change.number,
            "project_id": repo.project_id,
            "resolvable": True,
            "resolved": note.resolved,
            "confidential": False,
            "internal": False,
            "position": {
                "base_sha": start,
                "start_sha": start,
                "head_sha": note.commit_id,
                "old_path": note.path,
                "new_path": note.path,
                "position_type": "text",
                "old_line": None,
                "new_line": note.line,
            },
        }
