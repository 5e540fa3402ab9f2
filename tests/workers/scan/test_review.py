"""Reviews of people's pull requests (workers.scan.review), against the local fake forge."""

from __future__ import annotations

from tests.forge_subjects import REPO, Subject
from workers.config.model import Config
from workers.core.manifest import check_manifest
from workers.core.review import FIXED_REPLY, parse_comment_marker
from workers.jobs import ScanJob
from workers.scan.review import REVIEWED, review

BASE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: old
spec:
  template:
    spec:
      containers:
        - name: old
          image: old:1
"""
NEW_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2
        - name: proxy
          image: envoy:1.30
          imagePullPolicy: IfNotPresent
"""


def job(subject: Subject, number: int) -> ScanJob:
    installation = subject.ref().installation_id
    return ScanJob(
        forge=subject.kind,
        repo=REPO,
        reason="review",
        installation_id=installation,
        pr_number=number,
        base_branch="main",
    )


def seeded_pull(subject: Subject, config: str | None = None, **options: object) -> int:
    files = {"k8s/old.yaml": BASE_DEPLOYMENT}
    if config is not None:
        files[".pullpolicy.yml"] = config
    subject.seed(files)
    return subject.fake.open_pull(REPO, "feature", {"k8s/web.yaml": NEW_DEPLOYMENT}, **options)  # type: ignore[arg-type]


def head_check(subject: Subject, number: int) -> dict[str, object]:
    """The check run on the head (GitHub), or its commit status (GitLab: `neutral` is a
    success there, `failure` is `failed`)."""
    head = subject.fake.pull_head(REPO, number)
    if subject.kind == "gitlab":
        (status,) = [s for s in subject.fake.statuses(REPO) if s["sha"] == head]
        return {"conclusion": {"failed": "failure"}.get(status["status"], status["status"])}
    (run,) = [r for r in subject.fake.check_runs(REPO) if r["head_sha"] == head]
    return run


def neutral(subject: Subject) -> str:
    return "neutral" if subject.kind == "github" else "success"


def test_one_check_and_one_suggestion_per_container(subject: Subject) -> None:
    number = seeded_pull(subject)
    outcome = review(subject.forge, job(subject, number))
    assert (outcome.action, outcome.findings, outcome.pr_number) == (REVIEWED, 2, number)
    run = head_check(subject, number)
    assert run["conclusion"] == neutral(subject)
    if subject.kind == "github":
        assert len(run["annotations"]) == 2  # type: ignore[arg-type]
    comments = subject.fake.diff_comments(REPO, number)
    assert [(c.path, c.start_line, c.line) for c in comments] == [
        ("k8s/web.yaml", None, 10),
        ("k8s/web.yaml", None, 13),
    ]
    if subject.kind == "github":
        block = "```suggestion\n"
        assert subject.fake.reviews(REPO, number)[0][0] == "COMMENTED"
    else:
        block = "```suggestion:-0+0\n"
    assert f"{block}          image: registry.example.com/web:1.2\n" in comments[0].body
    # the base branch's own finding (k8s/old.yaml) is not in the pull request: not reviewed
    assert all("old" not in c.body for c in comments)


def test_a_second_run_posts_nothing_twice(subject: Subject) -> None:
    number = seeded_pull(subject)
    review(subject.forge, job(subject, number))
    review(subject.forge, job(subject, number))
    assert len(subject.fake.diff_comments(REPO, number)) == 2
    assert len(subject.fake.reviews(REPO, number)) == (subject.kind == "github")


def test_committed_suggestions_are_answered_as_fixed_and_the_check_passes(
    subject: Subject,
) -> None:
    number = seeded_pull(subject)
    review(subject.forge, job(subject, number))
    # Bottom up, as GitHub's batch of suggestions does: each keeps the lines above in place.
    for comment in reversed(subject.fake.diff_comments(REPO, number)):
        subject.fake.commit_suggestion(REPO, number, comment.id)
    head = subject.fake.pull_head(REPO, number)
    core_fix = check_manifest("k8s/web.yaml", NEW_DEPLOYMENT.encode(), Config(), fix=True).fixed
    assert subject.fake.read(REPO, head, "k8s/web.yaml") == core_fix
    outcome = review(subject.forge, job(subject, number))
    assert outcome.findings == 0
    assert head_check(subject, number)["conclusion"] == "success"
    replies = [c for c in subject.fake.diff_comments(REPO, number) if c.in_reply_to]
    assert [r.body for r in replies] == [FIXED_REPLY.format(sha=head[:12])] * 2
    resolved = [c.resolved for c in subject.fake.diff_comments(REPO, number)]
    assert resolved == [subject.kind == "gitlab"] * 4  # GitLab resolves the discussions
    review(subject.forge, job(subject, number))  # answered once only
    assert len([c for c in subject.fake.diff_comments(REPO, number) if c.in_reply_to]) == 2


def test_failure_conclusion_and_check_only_mode(subject: Subject) -> None:
    number = seeded_pull(subject, "review: check\nreview_conclusion: failure\n")
    review(subject.forge, job(subject, number))
    assert head_check(subject, number)["conclusion"] == "failure"
    assert subject.fake.diff_comments(REPO, number) == []


def test_the_config_comes_from_the_base_branch(subject: Subject) -> None:
    subject.seed({"k8s/old.yaml": BASE_DEPLOYMENT, ".pullpolicy.yml": "review: off\n"})
    files = {"k8s/web.yaml": NEW_DEPLOYMENT, ".pullpolicy.yml": "review: suggest\n"}
    number = subject.fake.open_pull(REPO, "feature", files)
    assert review(subject.forge, job(subject, number)).action == "disabled"
    assert subject.fake.check_runs(REPO) == [] and subject.fake.statuses(REPO) == []


def test_drafts_wait_unless_configured(subject: Subject) -> None:
    number = seeded_pull(subject, draft=True)
    assert review(subject.forge, job(subject, number)).action == "draft"
    assert subject.fake.check_runs(REPO) == [] and subject.fake.statuses(REPO) == []


def test_an_ignored_suggestion_is_not_suggested_again_nor_called_fixed(subject: Subject) -> None:
    number = seeded_pull(subject)
    review(subject.forge, job(subject, number))
    first = subject.fake.diff_comments(REPO, number)[0]
    subject.fake.reply_to_comment(REPO, number, first.id, "pullpolicy: ignore, preloaded")
    outcome = review(subject.forge, job(subject, number))
    assert outcome.findings == 1
    bodies = [c.body for c in subject.fake.diff_comments(REPO, number)]
    assert len(bodies) == 3 and not any(b.startswith("pullpolicy: fixed") for b in bodies)


def test_a_fork_pull_request_writes_only_to_the_base_repository(subject: Subject) -> None:
    subject.seed({"k8s/old.yaml": BASE_DEPLOYMENT})
    subject.fake.create_repo("someone/deploys", {"README.md": "fork\n"})
    fork_head = subject.fake.branch_head("someone/deploys", "main")
    number = subject.fake.open_pull(
        REPO, "feature", {"k8s/web.yaml": NEW_DEPLOYMENT}, fork="someone/deploys"
    )
    subject.fake.reset_requests()
    assert review(subject.forge, job(subject, number)).findings == 2
    assert len(subject.fake.diff_comments(REPO, number)) == 2
    assert all("someone" not in path for _, path in subject.fake.requests)
    assert subject.fake.branch_head("someone/deploys", "main") == fork_head
    assert subject.fake.check_runs("someone/deploys") == []


def test_markers_name_fingerprint_and_line(subject: Subject) -> None:
    number = seeded_pull(subject)
    review(subject.forge, job(subject, number))
    markers = [parse_comment_marker(c.body) for c in subject.fake.diff_comments(REPO, number)]
    assert [m[1] for m in markers if m] == [10, 13]


REQUEST_CHANGES = "review_event: request_changes\n"


def review_paths(subject: Subject) -> list[str]:
    return [path for _, path in subject.fake.requests if path.endswith("/reviews")]


def test_request_changes_is_the_github_review_event_when_configured(subject: Subject) -> None:
    number = seeded_pull(subject, REQUEST_CHANGES)
    subject.fake.reset_requests()
    assert review(subject.forge, job(subject, number)).findings == 2
    assert len(subject.fake.diff_comments(REPO, number)) == 2  # GitLab: discussions, as ever
    if subject.kind == "github":
        assert [state for state, _ in subject.fake.reviews(REPO, number)] == ["CHANGES_REQUESTED"]
    # the first review has nothing of its own to read back: only the one it posts
    assert [verb for verb, path in subject.fake.requests if path.endswith("/reviews")] == (
        ["POST"] if subject.kind == "github" else []
    )


def test_comment_reviews_are_never_read_back(subject: Subject) -> None:
    """A COMMENT review cannot be dismissed (GitHub answers 422): no call to learn its state."""
    number = seeded_pull(subject)
    review(subject.forge, job(subject, number))
    subject.fake.reset_requests()
    review(subject.forge, job(subject, number))
    assert review_paths(subject) == []


def test_a_dismissed_review_declines_its_suggestions(subject: Subject) -> None:
    if subject.kind == "gitlab":
        return  # no reviews to dismiss on GitLab: a reply `pullpolicy: ignore` is the way
    number = seeded_pull(subject, REQUEST_CHANGES)
    review(subject.forge, job(subject, number))
    subject.fake.dismiss_review(REPO, number)
    subject.fake.push_to_pull(REPO, number, {"README.md": "more\n"}, "docs")
    outcome = review(subject.forge, job(subject, number))
    assert outcome.findings == 0  # declined, like an ignore: neither suggested nor reported
    assert head_check(subject, number)["conclusion"] == "success"
    comments = subject.fake.diff_comments(REPO, number)
    assert len(comments) == 2 and not any(c.in_reply_to for c in comments)  # not "fixed"
    assert [state for state, _ in subject.fake.reviews(REPO, number)] == ["DISMISSED"]


def test_the_bot_dismisses_its_own_review_once_nothing_is_left(subject: Subject) -> None:
    if subject.kind == "gitlab":
        return  # GitLab resolves the discussions instead (see the committed-suggestions test)
    number = seeded_pull(subject, REQUEST_CHANGES)
    review(subject.forge, job(subject, number))
    first = subject.fake.diff_comments(REPO, number)[0]
    subject.fake.commit_suggestion(REPO, number, first.id)
    review(subject.forge, job(subject, number))  # one fixed, one open: still blocking
    assert subject.fake.reviews(REPO, number)[0][0] == "CHANGES_REQUESTED"
    second = [c for c in subject.fake.diff_comments(REPO, number) if not c.in_reply_to][1]
    subject.fake.reply_to_comment(REPO, number, second.id, "pullpolicy: ignore")
    review(subject.forge, job(subject, number))  # fixed + ignored: nothing left to change
    states = [state for state, _ in subject.fake.reviews(REPO, number)]
    assert states[0] == "DISMISSED"
    # its own dismissal declines nothing: a fixed thread that comes back is reported again
    subject.fake.push_to_pull(REPO, number, {"k8s/web.yaml": NEW_DEPLOYMENT}, "revert")
    assert review(subject.forge, job(subject, number)).findings == 1


CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: web
          image: web:1
          imagePullPolicy: {{ .Values.image.pullPolicy }}
"""
VALUES = "image:\n  repository: web\n  pullPolicy: {policy}\n"


def chart_files(root: str, policy: str) -> dict[str, str]:
    return {
        f"{root}/Chart.yaml": CHART.replace("name: app", f"name: {root}"),
        f"{root}/values.yaml": VALUES.format(policy=policy),
        f"{root}/templates/deploy.yaml": TEMPLATE,
    }


def check_annotations(subject: Subject, number: int) -> list[tuple[str, int, str]]:
    run = head_check(subject, number)
    return [(a["path"], a["start_line"], a["annotation_level"]) for a in run["annotations"]]  # type: ignore[attr-defined]


def test_a_chart_the_pull_request_changes_is_rendered_and_its_source_line_suggested(
    subject: Subject,
) -> None:
    subject.seed({**chart_files("app", "Always"), **chart_files("other", "IfNotPresent")})
    changed = {"app/values.yaml": VALUES.format(policy="IfNotPresent")}
    number = subject.fake.open_pull(REPO, "feature", changed)
    subject.fake.reset_requests()
    assert review(subject.forge, job(subject, number)).findings == 1
    (comment,) = subject.fake.diff_comments(REPO, number)
    assert (comment.path, comment.line) == ("app/values.yaml", 3)
    assert "\n  pullPolicy: Always\n```" in comment.body
    if subject.kind == "github":  # only the chart it changes: `other` is not rendered
        assert check_annotations(subject, number) == [("app/values.yaml", 3, "warning")]
    # the tree is listed once, to find the chart's other files
    assert len([p for _, p in subject.fake.requests if "/git/trees/" in p or "/tree" in p]) >= 1


def test_a_rendered_finding_decided_off_the_diff_is_an_annotation_only(subject: Subject) -> None:
    files = chart_files("app", "IfNotPresent")
    files["app/templates/deploy.yaml"] = TEMPLATE.replace(
        "          imagePullPolicy: {{ .Values.image.pullPolicy }}\n", ""
    )
    subject.seed(files)
    number = subject.fake.open_pull(REPO, "feature", {"app/templates/deploy.yaml": TEMPLATE})
    outcome = review(subject.forge, job(subject, number))
    assert outcome.findings == 0  # values.yaml line 3 decides, and the PR does not change it
    assert subject.fake.diff_comments(REPO, number) == []
    if subject.kind == "github":
        assert check_annotations(subject, number) == [("app/values.yaml", 3, "notice")]


def test_a_plain_manifest_pull_request_lists_no_tree(subject: Subject) -> None:
    number = seeded_pull(subject)
    subject.fake.reset_requests()
    review(subject.forge, job(subject, number))
    assert not [p for _, p in subject.fake.requests if "/git/trees/" in p or "/tree" in p]


BASE_KUSTOMIZATION = "resources:\n  - deploy.yaml\n"
BASE_DEPLOY = NEW_DEPLOYMENT.replace("        - name: proxy\n", "").replace(
    "          image: envoy:1.30\n          imagePullPolicy: IfNotPresent\n", ""
)
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          imagePullPolicy: IfNotPresent
"""


def test_a_kustomization_the_pull_request_changes_is_rendered(subject: Subject) -> None:
    always = BASE_DEPLOY.replace(
        "image: registry.example.com/web:1.2\n",
        "image: registry.example.com/web:1.2\n          imagePullPolicy: Always\n",
    )
    subject.seed(
        {
            "base/kustomization.yaml": BASE_KUSTOMIZATION,
            "base/deploy.yaml": always,
            "prod/kustomization.yaml": "resources:\n  - ../base\n",
        }
    )
    overlay = "resources:\n  - ../base\npatches:\n  - path: patch.yaml\n"
    files = {"prod/kustomization.yaml": overlay, "prod/patch.yaml": PATCH}
    number = subject.fake.open_pull(REPO, "feature", files)
    assert review(subject.forge, job(subject, number)).findings == 1
    (comment,) = subject.fake.diff_comments(REPO, number)
    assert (comment.path, comment.line) == ("prod/patch.yaml", 10)
    assert "\n          imagePullPolicy: Always\n```" in comment.body
