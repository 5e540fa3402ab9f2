"""GitHub pull requests and the issue endpoints they share: labels, assignees, comments."""

from __future__ import annotations

from typing import Any

from tests.fakeforge.github_common import (
    caller_login,
    json_object,
    not_found,
    number_param,
    unprocessable,
    validation_failed,
    view,
    visible_repo,
)
from tests.fakeforge.pagination import GITHUB_PAGES, link_header, paginate
from tests.fakeforge.records import ChangeRequest, Comment, utc_now
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.web import ApiCall, JsonObject, Response, Route, json_response, route

Params = dict[str, str]


class GitHubPullRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        base = "repos/{owner}/{repo}"
        return [
            route("GET", f"{base}/pulls", self.list_pulls),
            route("POST", f"{base}/pulls", self.create_pull),
            route("GET", f"{base}/pulls/{{number}}", self.get_pull),
            route("PATCH", f"{base}/pulls/{{number}}", self.update_pull),
            route("POST", f"{base}/pulls/{{number}}/requested_reviewers", self.request_reviewers),
            route("GET", f"{base}/issues/{{number}}", self.get_issue),
            route("POST", f"{base}/issues/{{number}}/labels", self.add_labels),
            route("PUT", f"{base}/issues/{{number}}/labels", self.set_labels),
            route("DELETE", f"{base}/issues/{{number}}/labels/{{name}}", self.remove_label),
            route("POST", f"{base}/issues/{{number}}/assignees", self.add_assignees),
            route("GET", f"{base}/issues/{{number}}/comments", self.list_comments),
            route("POST", f"{base}/issues/{{number}}/comments", self.create_comment),
            route("PATCH", f"{base}/issues/comments/{{comment_id}}", self.update_comment),
        ]

    # -- helpers -------------------------------------------------------------------------------

    def _repo(self, call: ApiCall, params: Params) -> Repository:
        return visible_repo(self.state, call, params["owner"], params["repo"])

    def _change(self, repo: Repository, params: Params) -> ChangeRequest:
        change = repo.records.change_requests.get(number_param(params["number"]))
        if change is None:
            not_found()
        return change

    def _pull_json(
        self, call: ApiCall, repo: Repository, change: ChangeRequest, full: bool
    ) -> JsonObject:
        head = repo.live_head(change)
        base = repo.branch_head(change.target_branch) or change.base_sha
        people = self.state.user_ids
        fork = self.state.repo(change.head_repo) if change.head_repo else None
        return view(call).pull(repo, change, people, (head, base), full, head_repo=fork)

    # -- pulls ---------------------------------------------------------------------------------

    def list_pulls(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        request = call.request
        state = request.arg("state", "open")
        if state not in ("open", "closed", "all"):
            validation_failed("PullRequest", field="state", code="invalid")
        head, base = request.arg("head"), request.arg("base")
        # GitHub only honours `head` as "owner:branch"; a bare branch name filters nothing.
        head_owner, colon, head_branch = (head or "").partition(":")
        changes = [
            change
            for change in repo.records.change_requests.values()
            if (state == "all" or change.state == state)
            and (
                not colon
                or (
                    head_owner == (change.head_repo or repo.full_name).rpartition("/")[0]
                    and change.source_branch == head_branch
                )
            )
            and (base is None or change.target_branch == base)
        ]
        newest_first = request.arg("direction", "desc") == "desc"
        changes.sort(key=lambda c: c.number, reverse=newest_first)
        page_items, page = paginate(changes, request, GITHUB_PAGES, self.state.page_size_cap)
        pulls = [self._pull_json(call, repo, c, full=False) for c in page_items]
        return json_response(200, pulls, link_header(request, page))

    def create_pull(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        body = json_object(call)
        title, head, base = body.get("title"), body.get("head"), body.get("base")
        if not isinstance(title, str) or not title:
            validation_failed("PullRequest", field="title", code="missing_field")
        if not isinstance(base, str) or repo.branch_head(base) is None:
            validation_failed("PullRequest", field="base", code="invalid")
        if not isinstance(head, str):
            validation_failed("PullRequest", field="head", code="invalid")
        head_owner, colon, head_branch = head.partition(":")
        if not colon:
            head_owner, head_branch = repo.owner, head
        head_sha = repo.branch_head(head_branch)
        if head_owner != repo.owner or head_sha is None:
            validation_failed("PullRequest", field="head", code="invalid")
        if repo.records.open_change_request(head_branch, base) is not None:
            validation_failed(
                "PullRequest",
                code="custom",
                message=f"A pull request already exists for {repo.owner}:{head_branch}.",
            )
        base_sha = repo.branch_head(base) or ""
        if not repo.bare.rev_list(head_sha, exclude=base_sha):
            validation_failed(
                "PullRequest", code="custom", message=f"No commits between {base} and {head_branch}"
            )
        change = ChangeRequest(
            id=self.state.ids.next(),
            number=repo.records.next_number(),
            title=title,
            body=str(body.get("body") or ""),
            source_branch=head_branch,
            target_branch=base,
            author=caller_login(self.state, call),
            head_sha=head_sha,
            base_sha=base_sha,
            draft=body.get("draft") is True,
        )
        repo.records.change_requests[change.number] = change
        return json_response(201, self._pull_json(call, repo, change, full=True))

    def get_pull(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        return json_response(200, self._pull_json(call, repo, change, full=True))

    def update_pull(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        body = json_object(call)
        if isinstance(body.get("base"), str) and body["base"] != change.target_branch:
            if repo.branch_head(body["base"]) is None:
                validation_failed("PullRequest", field="base", code="invalid")
            change.target_branch = body["base"]
        if isinstance(body.get("title"), str):
            change.title = body["title"]
        if isinstance(body.get("body"), str):
            change.body = body["body"]
        state = body.get("state")
        if state == "closed" and change.state == "open":
            change.close()
        elif state == "open" and change.state == "closed":
            self._reopen(repo, change)
        elif state not in (None, "open", "closed"):
            validation_failed("PullRequest", field="state", code="invalid")
        change.touch()
        return json_response(200, self._pull_json(call, repo, change, full=True))

    def _reopen(self, repo: Repository, change: ChangeRequest) -> None:
        if change.merged:
            unprocessable("state cannot be changed. The pull request has been merged.")
        if repo.branch_head(change.source_branch) is None:
            unprocessable(
                f"state cannot be changed. The {change.source_branch} branch has been deleted."
            )
        if repo.records.open_change_request(change.source_branch, change.target_branch):
            validation_failed(
                "PullRequest",
                code="custom",
                message=f"A pull request already exists for {repo.owner}:{change.source_branch}.",
            )
        change.reopen()

    def request_reviewers(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        body = json_object(call)
        reviewers = _string_list(body.get("reviewers", []))
        if change.author in reviewers:
            unprocessable("Review cannot be requested from pull request author.")
        for login in reviewers:
            self.state.user_id(login)
            if login not in change.reviewers:
                change.reviewers.append(login)
        change.touch()
        return json_response(201, self._pull_json(call, repo, change, full=False))

    # -- issues --------------------------------------------------------------------------------

    def get_issue(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        return json_response(200, view(call).issue(repo, change, self.state.user_ids))

    def _labels_json(self, call: ApiCall, repo: Repository, change: ChangeRequest) -> Response:
        github = view(call)
        return json_response(
            200, [github.label(repo, repo.records.labels[name]) for name in change.labels]
        )

    def _label_names(self, call: ApiCall) -> list[str]:
        raw: Any = call.request.json()
        if isinstance(raw, dict):
            raw = raw.get("labels", [])
        names = [item["name"] if isinstance(item, dict) else item for item in raw or []]
        if not all(isinstance(name, str) and name for name in names):
            validation_failed("Label", field="name", code="invalid")
        return names

    def add_labels(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        names = self._label_names(call)
        for name in names:
            repo.records.label(name, self.state.ids)
        change.add_labels(names)
        return self._labels_json(call, repo, change)

    def set_labels(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        names = self._label_names(call)
        for name in names:
            repo.records.label(name, self.state.ids)
        change.labels = []
        change.add_labels(names)
        return self._labels_json(call, repo, change)

    def remove_label(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        if params["name"] not in change.labels:
            not_found("Label does not exist")
        change.labels.remove(params["name"])
        change.touch()
        return self._labels_json(call, repo, change)

    def add_assignees(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        for login in _string_list(json_object(call).get("assignees", [])):
            self.state.user_id(login)
            if login not in change.assignees:
                change.assignees.append(login)
        change.touch()
        return json_response(201, view(call).issue(repo, change, self.state.user_ids))

    def list_comments(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        comments, page = paginate(
            change.comments, call.request, GITHUB_PAGES, self.state.page_size_cap
        )
        github = view(call)
        ids = self.state.user_ids
        rendered = [github.comment(repo, change.number, c, ids[c.author]) for c in comments]
        return json_response(200, rendered, link_header(call.request, page))

    def create_comment(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        change = self._change(repo, params)
        text = json_object(call).get("body")
        if not isinstance(text, str) or not text:
            validation_failed("IssueComment", field="body", code="missing_field")
        author = caller_login(self.state, call)
        now = utc_now()
        comment = Comment(self.state.ids.next(), text, author, now, now)
        change.comments.append(comment)
        change.touch()
        rendered = view(call).comment(repo, change.number, comment, self.state.user_id(author))
        return json_response(201, rendered)

    def update_comment(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        text = json_object(call).get("body")
        if not isinstance(text, str) or not text:
            validation_failed("IssueComment", field="body", code="missing_field")
        found = [
            (change, comment)
            for change in repo.records.change_requests.values()
            for comment in change.comments
            if str(comment.id) == params["comment_id"]
        ]
        if not found:
            not_found()
        change, comment = found[0]
        comment.body = text
        comment.updated_at = utc_now()
        author_id = self.state.user_id(comment.author)
        return json_response(200, view(call).comment(repo, change.number, comment, author_id))


def _string_list(raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        validation_failed("PullRequest", field="reviewers", code="invalid")
    return list(raw)
