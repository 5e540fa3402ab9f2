"""GitLab merge requests, their notes, commit statuses, and user lookups."""

from __future__ import annotations

import re

from tests.fakeforge.gitlab_common import (
    bad_request,
    caller_login,
    fail,
    int_list,
    missing,
    not_found,
    project,
    string_list,
    view,
)
from tests.fakeforge.pagination import GITLAB_PAGES, gitlab_headers, paginate
from tests.fakeforge.records import ChangeRequest, Comment, CommitStatus, utc_now
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.web import ApiCall, JsonObject, Response, Route, json_response, route

Params = dict[str, str]
# GitLab's draft markers at the start of a title (current versions; "WIP:" is gone).
_DRAFT_PREFIX = re.compile(r"\A\s*(?:\[draft\]|\(draft\)|draft:)\s*", re.IGNORECASE)
_MR_STATES = {"opened", "closed", "merged", "locked", "all"}
_STATUS_STATES = {"pending", "running", "success", "failed", "canceled", "skipped"}
# Which states each state-machine event may leave (GitLab's CommitStatus transitions).
_EVENTS = {
    "pending": ("enqueue", {"created", "skipped", "manual", "scheduled"}),
    "running": ("run", {"pending"}),
    "success": ("success", {"created", "pending", "running"}),
    "failed": ("drop", {"created", "pending", "running"}),
    "canceled": ("cancel", {"created", "pending", "running"}),
    "skipped": ("skip", {"created", "pending"}),
}


def split_draft(title: str) -> tuple[str, bool]:
    match = _DRAFT_PREFIX.match(title)
    return (title[match.end() :], True) if match else (title, False)


class GitLabMergeRequestRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        mrs = "projects/{id}/merge_requests"
        return [
            route("GET", mrs, self.list_mrs),
            route("POST", mrs, self.create_mr),
            route("GET", f"{mrs}/{{iid}}", self.get_mr),
            route("PUT", f"{mrs}/{{iid}}", self.update_mr),
            route("GET", f"{mrs}/{{iid}}/notes", self.list_notes),
            route("POST", f"{mrs}/{{iid}}/notes", self.create_note),
            route("PUT", f"{mrs}/{{iid}}/notes/{{note_id}}", self.update_note),
            route("POST", "projects/{id}/statuses/{sha}", self.create_status),
            route("GET", "projects/{id}/repository/commits/{sha}/statuses", self.list_statuses),
            route("GET", "users", self.find_users),
            route("GET", "user", self.current_user),
        ]

    # -- helpers -------------------------------------------------------------------------------

    def _project(self, call: ApiCall, params: Params) -> Repository:
        return project(self.state, call, params["id"])

    def _mr(self, repo: Repository, params: Params) -> ChangeRequest:
        iid = params["iid"]
        change = repo.records.change_requests.get(int(iid)) if iid.isdigit() else None
        if change is None:
            fail(404, "404 Not found")
        return change

    def _render(self, call: ApiCall, repo: Repository, change: ChangeRequest) -> JsonObject:
        head = repo.live_head(change)
        base = repo.branch_head(change.target_branch) or change.base_sha
        merge_base = repo.bare.merge_base(base, head) or base
        return view(call).merge_request(repo, change, self.state.user_ids, (head, merge_base))

    def _logins(self, raw: object, name: str) -> list[str]:
        """User ids to logins; GitLab silently drops ids it does not know."""
        logins = [self.state.login_of(user_id) for user_id in int_list(raw, name)]
        return [login for login in logins if login is not None]

    def _refuse_duplicate(self, repo: Repository, change_source: str, target: str) -> None:
        existing = repo.records.open_change_request(change_source, target)
        if existing is not None:
            message = "Another open merge request already exists for this source branch"
            fail(409, [f"{message}: !{existing.number}"])

    # -- merge requests --------------------------------------------------------------------------

    def list_mrs(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        request = call.request
        state = request.arg("state", "all")
        if state not in _MR_STATES:
            fail(400, {"error": "state does not have a valid value"})
        wanted_labels = set(string_list(request.arg("labels")))
        source, target = request.arg("source_branch"), request.arg("target_branch")
        changes = [
            change
            for change in repo.records.change_requests.values()
            if state in ("all", _gitlab_state(change))
            and (source is None or change.source_branch == source)
            and (target is None or change.target_branch == target)
            and wanted_labels <= set(change.labels)
        ]
        changes.sort(key=lambda c: c.number, reverse=request.arg("sort", "desc") == "desc")
        page_items, page = paginate(changes, request, GITLAB_PAGES, self.state.page_size_cap)
        rendered = [self._render(call, repo, change) for change in page_items]
        return json_response(200, rendered, gitlab_headers(request, page))

    def create_mr(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        body = call.request.params()
        for required in ("source_branch", "target_branch", "title"):
            if not body.get(required):
                missing(required)
        source, target = str(body["source_branch"]), str(body["target_branch"])
        if source == target:
            fail(422, ["You can't use same project/branch for source and target"])
        head = repo.branch_head(source)
        if head is None:
            bad_request([f'Source branch "{source}" does not exist'])
        if repo.branch_head(target) is None:
            bad_request([f'Target branch "{target}" does not exist'])
        self._refuse_duplicate(repo, source, target)
        title, draft = split_draft(str(body["title"]))
        change = ChangeRequest(
            id=self.state.ids.next(),
            number=repo.records.next_number(),
            title=title,
            body=str(body.get("description") or ""),
            source_branch=source,
            target_branch=target,
            author=caller_login(self.state, call),
            head_sha=head,
            base_sha=repo.branch_head(target) or "",
            draft=draft,
        )
        self._apply_people_and_labels(repo, change, body)
        repo.records.change_requests[change.number] = change
        return json_response(201, self._render(call, repo, change))

    def get_mr(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        return json_response(200, self._render(call, repo, self._mr(repo, params)))

    def update_mr(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        change = self._mr(repo, params)
        body = call.request.params()
        if "title" in body:
            change.title, change.draft = split_draft(str(body["title"]))
        if "description" in body:
            change.body = str(body["description"] or "")
        if body.get("target_branch"):
            if repo.branch_head(str(body["target_branch"])) is None:
                bad_request([f'Target branch "{body["target_branch"]}" does not exist'])
            change.target_branch = str(body["target_branch"])
        self._apply_people_and_labels(repo, change, body)
        event = body.get("state_event")
        if event == "close" and change.state == "open":
            change.close()
        elif event == "reopen" and change.state == "closed" and not change.merged:
            self._refuse_duplicate(repo, change.source_branch, change.target_branch)
            change.reopen()
        elif event not in (None, "close", "reopen"):
            fail(400, {"error": "state_event does not have a valid value"})
        change.touch()
        return json_response(200, self._render(call, repo, change))

    def _apply_people_and_labels(
        self, repo: Repository, change: ChangeRequest, body: JsonObject
    ) -> None:
        if "labels" in body:
            change.labels = []
            change.add_labels(string_list(body["labels"]))
        if "add_labels" in body:
            change.add_labels(string_list(body["add_labels"]))
        if "remove_labels" in body:
            removed = set(string_list(body["remove_labels"]))
            change.labels = [name for name in change.labels if name not in removed]
        for name in change.labels:
            repo.records.label(name, self.state.ids)
        if "assignee_ids" in body:
            change.assignees = self._logins(body["assignee_ids"], "assignee_ids")
        elif body.get("assignee_id") is not None:
            change.assignees = self._logins([body["assignee_id"]], "assignee_id")
        if "reviewer_ids" in body:
            change.reviewers = self._logins(body["reviewer_ids"], "reviewer_ids")

    # -- notes -------------------------------------------------------------------------------------

    def list_notes(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        change = self._mr(repo, params)
        newest_first = call.request.arg("sort", "desc") == "desc"
        notes = sorted(change.comments, key=lambda c: c.id, reverse=newest_first)
        page_notes, page = paginate(notes, call.request, GITLAB_PAGES, self.state.page_size_cap)
        gitlab = view(call)
        ids = self.state.user_ids
        rendered = [gitlab.note(repo, change, note, ids[note.author]) for note in page_notes]
        return json_response(200, rendered, gitlab_headers(call.request, page))

    def create_note(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        change = self._mr(repo, params)
        text = call.request.params().get("body")
        if not text:
            missing("body")
        author = caller_login(self.state, call)
        now = utc_now()
        note = Comment(self.state.ids.next(), str(text), author, now, now)
        change.comments.append(note)
        change.touch()
        return json_response(201, view(call).note(repo, change, note, self.state.user_id(author)))

    def update_note(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        change = self._mr(repo, params)
        text = call.request.params().get("body")
        if not text:
            missing("body")
        note = next((n for n in change.comments if str(n.id) == params["note_id"]), None)
        if note is None:
            not_found("Note")
        note.body = str(text)
        note.updated_at = utc_now()
        author_id = self.state.user_id(note.author)
        return json_response(200, view(call).note(repo, change, note, author_id))

    # -- commit statuses ---------------------------------------------------------------------------

    def create_status(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        body = call.request.params()
        state = body.get("state")
        if not state:
            missing("state")
        if state not in _STATUS_STATES:
            fail(400, {"error": "state does not have a valid value"})
        sha = repo.bare.resolve_commit(params["sha"])
        if sha is None or not sha.startswith(params["sha"]):
            not_found("Commit")
        name = str(body.get("name") or body.get("context") or "default")
        ref = str(body.get("ref") or self._branch_containing(repo, sha))
        author = caller_login(self.state, call)
        # GitLab reuses a pending/running status of the same name and ref; a finished one is
        # kept and a fresh status starts from "created".
        status = next(
            (
                s
                for s in reversed(repo.records.statuses)
                if s.sha == sha
                and s.name == name
                and s.ref == ref
                and s.status in ("pending", "running")
            ),
            None,
        )
        if status is None:
            status = CommitStatus(self.state.ids.next(), sha, ref, name, "created", author)
            fresh = True
        else:
            fresh = False
        _transition(status, str(state))
        for key in ("target_url", "description"):
            if key in body:
                setattr(status, key, body[key])
        if body.get("coverage") is not None:
            status.coverage = float(body["coverage"])
        if fresh:
            repo.records.statuses.append(status)
        return json_response(201, view(call).status(status, self.state.user_id(status.author)))

    def _branch_containing(self, repo: Repository, sha: str) -> str:
        for name, head in repo.branches().items():
            if head == sha:
                return name
        return repo.default_branch

    def list_statuses(self, call: ApiCall, params: Params) -> Response:
        repo = self._project(call, params)
        sha = repo.bare.resolve_commit(params["sha"])
        if sha is None:
            not_found("Commit")
        request = call.request
        wanted_ref, wanted_name = request.arg("ref"), request.arg("name")
        matching = [
            s
            for s in repo.records.statuses
            if s.sha == sha
            and (wanted_ref is None or s.ref == wanted_ref)
            and (wanted_name is None or s.name == wanted_name)
        ]
        if (request.arg("all") or "false").lower() != "true":
            latest: dict[tuple[str, str | None], CommitStatus] = {}
            for status in matching:
                latest[(status.name, status.ref)] = status
            matching = sorted(latest.values(), key=lambda s: s.id)
        page_items, page = paginate(matching, request, GITLAB_PAGES, self.state.page_size_cap)
        gitlab = view(call)
        rendered = [gitlab.status(s, self.state.user_id(s.author)) for s in page_items]
        return json_response(200, rendered, gitlab_headers(request, page))

    # -- users -----------------------------------------------------------------------------------

    def find_users(self, call: ApiCall, params: Params) -> Response:
        """Every username exists in the fake; looking one up gives it a stable id."""
        username = call.request.arg("username")
        if not username:
            return json_response(200, [])
        return json_response(200, [view(call).user(username, self.state.user_id(username))])

    def current_user(self, call: ApiCall, params: Params) -> Response:
        login = caller_login(self.state, call)
        return json_response(200, view(call).user(login, self.state.user_id(login)))


def _gitlab_state(change: ChangeRequest) -> str:
    if change.merged:
        return "merged"
    return "opened" if change.state == "open" else "closed"


def _transition(status: CommitStatus, state: str) -> None:
    if state == "running" and status.status == "created":
        status.status = "pending"  # GitLab enqueues first, then runs
    event, allowed_from = _EVENTS[state]
    if status.status not in allowed_from:
        bad_request(
            f"Cannot transition status via :{event} from :{status.status} "
            f'(Reason(s): Status cannot transition via "{event}")'
        )
    now = utc_now()
    if state == "running":
        status.started_at = now
    if state in ("success", "failed", "canceled", "skipped"):
        status.finished_at = now
    status.status = state
