"""GitHub pull request files, reviews and review comments (with replies).

As GitHub does: the files of a pull request are the diff from the merge base to its head;
a review comment must sit on lines of that diff (RIGHT side), a multi-line one within one
hunk, else the whole review is refused with 422 and nothing is stored.
"""

from __future__ import annotations

import re

from tests.fakeforge.github_common import (
    caller_login,
    fail,
    json_object,
    not_found,
    number_param,
    view,
    visible_repo,
)
from tests.fakeforge.github_views import iso, node_id
from tests.fakeforge.pagination import GITHUB_PAGES, link_header, paginate
from tests.fakeforge.records import ChangeRequest, DiffComment, Review
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.store import FileChange
from tests.fakeforge.web import ApiCall, JsonObject, Response, Route, json_response, route

Params = dict[str, str]
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
NOT_IN_DIFF = "Pull request review thread line must be part of the diff"
NOT_SAME_HUNK = "Pull request review thread start line must be part of the same hunk as the line."
DISMISS_COMMENTED = "Can not dismiss a commented pull request review"
PATH_UNKNOWN = "Path could not be resolved"
EVENTS = {"COMMENT": "COMMENTED", "APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED"}


def hunks(patch: str) -> list[tuple[int, int]]:
    """(first, last) new-side lines of each hunk of a unified patch."""
    found = []
    for line in patch.split("\n"):
        match = _HUNK.match(line)
        if match and (count := int(match.group(2) or "1")):
            first = int(match.group(1))
            found.append((first, first + count - 1))
    return found


class GitHubReviewRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        pull = "repos/{owner}/{repo}/pulls/{number}"
        return [
            route("GET", f"{pull}/files", self.list_files),
            route("GET", f"{pull}/comments", self.list_comments),
            route("GET", f"{pull}/reviews", self.list_reviews),
            route("POST", f"{pull}/reviews", self.create_review),
            route("PUT", f"{pull}/reviews/{{review_id}}/dismissals", self.dismiss_review),
            route("POST", f"{pull}/comments/{{comment_id}}/replies", self.reply),
        ]

    def _pull(self, call: ApiCall, params: Params) -> tuple[Repository, ChangeRequest]:
        repo = visible_repo(self.state, call, params["owner"], params["repo"])
        change = repo.records.change_requests.get(number_param(params["number"]))
        if change is None:
            not_found()
        return repo, change

    def _diff(self, repo: Repository, change: ChangeRequest) -> list[FileChange]:
        head = repo.live_head(change)
        target = repo.branch_head(change.target_branch) or change.base_sha
        base = repo.bare.merge_base(target, head) or change.base_sha
        return repo.bare.diff(base, head)

    def list_files(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._pull(call, params)
        head = repo.live_head(change)
        files, page = paginate(
            self._diff(repo, change), call.request, GITHUB_PAGES, self.state.page_size_cap
        )
        github = view(call)
        entries = [github.diff_entry(repo, head, item) for item in files]
        return json_response(200, entries, link_header(call.request, page))

    def list_comments(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._pull(call, params)
        comments, page = paginate(
            change.diff_comments, call.request, GITHUB_PAGES, self.state.page_size_cap
        )
        rendered = [self._comment_json(call, repo, change, c) for c in comments]
        return json_response(200, rendered, link_header(call.request, page))

    def list_reviews(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._pull(call, params)
        reviews, page = paginate(
            change.reviews, call.request, GITHUB_PAGES, self.state.page_size_cap
        )
        rendered = [self._review_json(call, repo, change, review) for review in reviews]
        return json_response(200, rendered, link_header(call.request, page))

    def dismiss_review(self, call: ApiCall, params: Params) -> Response:
        """As GitHub: only a review that approves or requests changes can be dismissed, with
        a message; it becomes DISMISSED."""
        repo, change = self._pull(call, params)
        review_id = number_param(params["review_id"])
        review = next((r for r in change.reviews if r.id == review_id), None)
        if review is None:
            not_found()
        message = json_object(call).get("message")
        if not isinstance(message, str) or not message:
            fail(422, "Unprocessable Entity", ["message is required"])
        if review.state not in ("APPROVED", "CHANGES_REQUESTED"):
            fail(422, "Unprocessable Entity", [DISMISS_COMMENTED])
        review.state = "DISMISSED"
        change.touch()
        return json_response(200, self._review_json(call, repo, change, review))

    def create_review(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._pull(call, params)
        body = json_object(call)
        event = body.get("event", "COMMENT")
        if event not in EVENTS:
            fail(422, "Unprocessable Entity", [f"Invalid event {event}"])
        text = body.get("body") or ""
        if event != "APPROVE" and not text:
            fail(422, "Unprocessable Entity", ["Review body is required"])
        commit_id = body.get("commit_id") or repo.live_head(change)
        if not isinstance(commit_id, str) or repo.bare.resolve_commit(commit_id) != commit_id:
            fail(422, "Unprocessable Entity", ["commit_id is not part of the pull request"])
        author = caller_login(self.state, call)
        review = Review(self.state.ids.next(), author, str(text), EVENTS[event], commit_id)
        diff = {item.path: item for item in self._diff(repo, change)}
        placed = [
            self._place(change, review, diff, raw, author)
            for raw in _comment_list(body.get("comments", []))
        ]  # every comment is checked before anything is stored
        change.reviews.append(review)
        change.diff_comments.extend(placed)
        change.touch()
        return json_response(200, self._review_json(call, repo, change, review))

    def _place(
        self,
        change: ChangeRequest,
        review: Review,
        diff: dict[str, FileChange],
        raw: JsonObject,
        author: str,
    ) -> DiffComment:
        path, text, line = raw.get("path"), raw.get("body"), raw.get("line")
        start = raw.get("start_line")
        if not isinstance(path, str) or not isinstance(text, str) or not isinstance(line, int):
            fail(422, "Unprocessable Entity", ["path, body and line are required"])
        if raw.get("side", "RIGHT") != "RIGHT" or raw.get("start_side", "RIGHT") != "RIGHT":
            fail(422, "Unprocessable Entity", ["only RIGHT-side comments are served"])
        if path not in diff:
            fail(422, "Unprocessable Entity", [PATH_UNKNOWN])
        first = start if isinstance(start, int) else line
        spans = hunks(diff[path].patch)
        if not any(a <= line <= b for a, b in spans):
            fail(422, "Unprocessable Entity", [NOT_IN_DIFF])
        if first > line or not any(a <= first and line <= b for a, b in spans):
            fail(422, "Unprocessable Entity", [NOT_SAME_HUNK])
        return DiffComment(
            id=self.state.ids.next(),
            author=author,
            path=path,
            body=text,
            commit_id=review.commit_id,
            line=line,
            start_line=start if isinstance(start, int) else None,
            review_id=review.id,
            diff_hunk=diff[path].patch,
        )

    def reply(self, call: ApiCall, params: Params) -> Response:
        repo, change = self._pull(call, params)
        comment_id = number_param(params["comment_id"])
        parent = next((c for c in change.diff_comments if c.id == comment_id), None)
        if parent is None:
            not_found()
        text = json_object(call).get("body")
        if not isinstance(text, str) or not text:
            fail(422, "Unprocessable Entity", ["body is required"])
        author = caller_login(self.state, call)
        review = Review(self.state.ids.next(), author, "", "COMMENTED", parent.commit_id)
        answer = DiffComment(
            id=self.state.ids.next(),
            author=author,
            path=parent.path,
            body=text,
            commit_id=parent.commit_id,
            line=parent.line,
            start_line=parent.start_line,
            review_id=review.id,
            in_reply_to=parent.in_reply_to or parent.id,
            diff_hunk=parent.diff_hunk,
        )
        change.reviews.append(review)
        change.diff_comments.append(answer)
        change.touch()
        return json_response(201, self._comment_json(call, repo, change, answer))

    # -- shapes ---------------------------------------------------------------------------------

    def _review_json(
        self, call: ApiCall, repo: Repository, change: ChangeRequest, review: Review
    ) -> JsonObject:
        github = view(call)
        html = f"{github.repo_html(repo)}/pull/{change.number}"
        pull_url = f"{github.repo_api(repo)}/pulls/{change.number}"
        return {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": github.user(review.author, self.state.user_id(review.author)),
            "body": review.body,
            "state": review.state,
            "html_url": f"{html}#pullrequestreview-{review.id}",
            "pull_request_url": pull_url,
            "_links": {
                "html": {"href": f"{html}#pullrequestreview-{review.id}"},
                "pull_request": {"href": pull_url},
            },
            "submitted_at": iso(review.submitted_at),
            "commit_id": review.commit_id,
            "author_association": "NONE",
        }

    def _comment_json(
        self, call: ApiCall, repo: Repository, change: ChangeRequest, comment: DiffComment
    ) -> JsonObject:
        github = view(call)
        api = github.repo_api(repo)
        url = f"{api}/pulls/comments/{comment.id}"
        html = f"{github.repo_html(repo)}/pull/{change.number}#discussion_r{comment.id}"
        pull_url = f"{api}/pulls/{change.number}"
        rendered: JsonObject = {
            "url": url,
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": comment.diff_hunk,
            "path": comment.path,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": github.user(comment.author, self.state.user_id(comment.author)),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": "NONE",
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": pull_url},
            },
            "start_line": comment.start_line,
            "original_start_line": comment.start_line,
            "start_side": "RIGHT" if comment.start_line else None,
            "line": comment.line,
            "original_line": comment.line,
            "side": "RIGHT",
            "subject_type": "line",
        }
        if comment.in_reply_to is not None:
            rendered["in_reply_to_id"] = comment.in_reply_to
        return rendered


def _comment_list(raw: object) -> list[JsonObject]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        fail(422, "Unprocessable Entity", ["comments must be a list of objects"])
    return raw
