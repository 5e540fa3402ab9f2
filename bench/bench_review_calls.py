"""API calls per review of a person's pull request, on the local fake forge (not a test).

    .venv/bin/python bench/bench_review_calls.py

For GitHub (App auth) and GitLab: a repository of 1,000 files; a pull request changing two
manifests (three containers without `Always`) and one other file. Measured, by one worker
(its adapter kept, as a running worker keeps it): the first review (`opened`), the review
after the person committed every suggestion (`synchronize`: the fixed threads are answered),
and the same event delivered again with nothing new. The issue's goal: the PR's changed
files list + one read per changed candidate + the writes; the rest is named per row.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.fakeforge import FakeForge  # noqa: E402
from tests.fakeforge.app_keys import AppKey  # noqa: E402
from workers.forge.base import ReviewForge  # noqa: E402
from workers.forge.github import GitHubForge  # noqa: E402
from workers.forge.gitlab import GitLabForge  # noqa: E402
from workers.jobs import ScanJob  # noqa: E402
from workers.scan.review import review  # noqa: E402

APP_ID, INSTALLATION, TOKEN = 78, 7800, "glpat-bench-review"
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: web:1.2
      - name: proxy
        image: envoy:1.30
        imagePullPolicy: IfNotPresent
"""
JOB = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: m}\nspec:\n  template:\n    spec:\n" + (
    "      containers: [{name: m, image: 'tools:3'}]\n"
)
CANDIDATES = 2  # changed manifests: one read each


def seed() -> dict[str, str]:
    return {f"src/module{i // 50}/file{i}.py": f"# {i}\n" for i in range(1000)}


def adapter(kind: str, fake: FakeForge, pem: str) -> ReviewForge:
    if kind == "github":
        return GitHubForge(
            base_url=fake.github_api_url,
            app_id=APP_ID,
            private_key=pem,
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
    return GitLabForge(url=fake.gitlab_url, token=TOKEN, retry_transient_errors=False)


def rows(kind: str, fake: FakeForge, pem: str) -> list[tuple[str, int, int]]:
    """(what, calls, goal) per event."""
    name = f"bench/review-{kind}"
    fake.create_repo(name, seed())
    fake.add_installation(INSTALLATION, [name])
    files = {"k8s/web.yaml": WEB, "k8s/job.yaml": JOB, "src/app.py": "print()\n"}
    number = fake.open_pull(name, "feature", files)
    job = ScanJob(
        forge=kind,
        repo=name,
        reason="review",
        installation_id=INSTALLATION if kind == "github" else None,
        pr_number=number,
    )
    forge = adapter(kind, fake, pem)
    measured = []

    def measure(what: str, writes: int) -> None:
        before = forge.api_calls
        outcome = review(forge, job)
        measured.append((f"{what} ({outcome.findings} added)", forge.api_calls - before, writes))

    # Writes: the check, then the one review (GitHub) or a discussion each (GitLab: placed
    # with the diff refs of the merge request the review read, not read again).
    suggestion_writes = 1 if kind == "github" else 3
    measure("opened: first review, fresh adapter", 1 + suggestion_writes + 1 + CANDIDATES)
    for comment in reversed(fake.diff_comments(name, number)):
        if comment.in_reply_to is None:
            fake.commit_suggestion(name, number, comment.id)
    fixed_writes = 3 if kind == "github" else 3 * 2  # a reply each (GitLab: note + resolve)
    measure("synchronize after the suggestions", 1 + fixed_writes + 1 + CANDIDATES)
    measure("the same synchronize again", 1 + 1 + CANDIDATES)
    return measured


def main() -> None:
    key = AppKey.generate()
    with tempfile.TemporaryDirectory() as tmp, FakeForge(Path(tmp) / "forge") as fake:
        fake.register_app(APP_ID, key.public_pem)
        fake.add_token(TOKEN)
        print(f"{'forge':7} {'event':52} {'calls':>5} {'goal':>5}")
        for kind in ("github", "gitlab"):
            for what, calls, goal in rows(kind, fake, key.private_pem):
                print(f"{kind:7} {what:52} {calls:5d} {goal:5d}")
    print(
        "goal = changed-files list + one read per changed manifest + writes. Beyond it, each "
        "review reads the PR (its newest head), the base branch's .pullpolicy.yml and the "
        "existing review threads (3 calls), and a fresh GitHub adapter mints an installation "
        "token."
    )


if __name__ == "__main__":
    main()
