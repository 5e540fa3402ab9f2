"""GitHub check runs: only a GitHub App installation may write them, 50 annotations a request."""

from __future__ import annotations

from typing import Any

from tests.fakeforge.github_common import (
    fail,
    json_object,
    not_found,
    number_param,
    unprocessable,
    view,
    visible_repo,
)
from tests.fakeforge.records import CheckRun, utc_now
from tests.fakeforge.state import ForgeState, Repository
from tests.fakeforge.web import ApiCall, JsonObject, Response, Route, json_response, route

Params = dict[str, str]
MAX_ANNOTATIONS_PER_REQUEST = 50
_STATUSES = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
_CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
}
_LEVELS = {"notice", "warning", "failure"}
_ANNOTATION_KEYS = ("path", "start_line", "end_line", "annotation_level", "message")


class GitHubCheckRoutes:
    def __init__(self, state: ForgeState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        base = "repos/{owner}/{repo}"
        return [
            route("POST", f"{base}/check-runs", self.create_run),
            route("GET", f"{base}/check-runs/{{run_id}}", self.get_run),
            route("PATCH", f"{base}/check-runs/{{run_id}}", self.update_run),
            route("GET", f"{base}/check-runs/{{run_id}}/annotations", self.list_annotations),
            route("GET", f"{base}/commits/{{ref}}/check-runs", self.list_runs_for_ref),
        ]

    def _repo(self, call: ApiCall, params: Params) -> Repository:
        return visible_repo(self.state, call, params["owner"], params["repo"])

    def _run(self, repo: Repository, params: Params) -> CheckRun:
        run = repo.records.check_runs.get(number_param(params["run_id"]))
        if run is None:
            not_found()
        return run

    def _render(self, call: ApiCall, repo: Repository, run: CheckRun) -> JsonObject:
        github = view(call)
        app = None
        if run.app_id is not None:
            app = github.app(run.app_id, repo.owner, self.state.user_id(repo.owner))
        return github.check_run(repo, run, app)

    def _require_app(self, call: ApiCall) -> int:
        if call.principal is None or call.principal.kind != "installation":
            fail(403, "You must authenticate via a GitHub App.")
        assert call.principal.app_id is not None
        return call.principal.app_id

    def create_run(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        app_id = self._require_app(call)
        body = json_object(call)
        name, head_sha = body.get("name"), body.get("head_sha")
        if not isinstance(name, str) or not name or not isinstance(head_sha, str):
            unprocessable('Invalid request.\n\n"name" and "head_sha" are required.')
        sha = repo.bare.resolve_commit(head_sha)
        if sha is None or sha != head_sha:
            unprocessable(f"No commit found for SHA: {head_sha}")
        run = CheckRun(self.state.ids.next(), name, sha, app_id)
        self._apply(run, body)
        repo.records.check_runs[run.id] = run
        return json_response(201, self._render(call, repo, run))

    def update_run(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        app_id = self._require_app(call)
        run = self._run(repo, params)
        if run.app_id != app_id:
            fail(403, f"Invalid app_id `{app_id}` - only the app that created a run may update it")
        self._apply(run, json_object(call))
        return json_response(200, self._render(call, repo, run))

    def get_run(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        return json_response(200, self._render(call, repo, self._run(repo, params)))

    def list_annotations(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        return json_response(200, self._run(repo, params).annotations)

    def list_runs_for_ref(self, call: ApiCall, params: Params) -> Response:
        repo = self._repo(call, params)
        sha = repo.bare.resolve_commit(params["ref"])
        if sha is None:
            unprocessable(f"No commit found for SHA: {params['ref']}")
        wanted = call.request.arg("check_name")
        runs = [
            self._render(call, repo, run)
            for run in repo.records.check_runs.values()
            if run.head_sha == sha and (wanted is None or run.name == wanted)
        ]
        return json_response(200, {"total_count": len(runs), "check_runs": runs})

    def _apply(self, run: CheckRun, body: JsonObject) -> None:
        """Validate everything first so that a refused request changes nothing."""
        status = body.get("status")
        conclusion = body.get("conclusion")
        if status is not None and status not in _STATUSES:
            unprocessable(f"Invalid status: {status}")
        if conclusion is not None and conclusion not in _CONCLUSIONS:
            unprocessable(f"Invalid conclusion: {conclusion}")
        if status == "completed" and conclusion is None and run.conclusion is None:
            unprocessable("Conclusion must be specified when status is completed")
        output = body.get("output")
        annotations = self._annotations(output)
        if isinstance(body.get("name"), str):
            run.name = body["name"]
        for key in ("details_url", "external_id"):
            if key in body:
                setattr(run, key, body[key])
        if conclusion is not None:
            run.conclusion = conclusion
            run.status = "completed"
            run.completed_at = run.completed_at or utc_now()
        elif status is not None:
            run.status = status
        if isinstance(output, dict):
            run.title = output["title"]
            run.summary = output["summary"]
            run.text = output.get("text", run.text)
            # GitHub appends: each request adds up to 50 annotations to those already there.
            run.annotations += annotations

    def _annotations(self, output: Any) -> list[JsonObject]:
        if output is None:
            return []
        if (
            not isinstance(output, dict)
            or not isinstance(output.get("title"), str)
            or not isinstance(output.get("summary"), str)
        ):
            unprocessable('Invalid request.\n\n"title" and "summary" are required in output.')
        annotations = output.get("annotations", [])
        if not isinstance(annotations, list):
            unprocessable("Invalid request.\n\nannotations must be an array.")
        if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
            unprocessable("Invalid request.\n\nOnly 50 annotations are allowed per request.")
        for annotation in annotations:
            if not isinstance(annotation, dict) or any(
                k not in annotation for k in _ANNOTATION_KEYS
            ):
                unprocessable("Invalid request.\n\nAn annotation is missing a required field.")
            if annotation["annotation_level"] not in _LEVELS:
                unprocessable(f"Invalid annotation_level: {annotation['annotation_level']}")
        return [dict(a) for a in annotations]
