"""API calls per push, measured on the local fake forge (not a test; run it directly).

    .venv/bin/python bench/bench_api_calls.py

For GitHub (App auth) and GitLab, on a repository of 1,000 files of which ten are manifests:
- a push touching no YAML/JSON to a repository scanned before (the receiver drops it: 0 calls),
- the first scan (opens the PR), by a worker with a fresh adapter and an empty cache,
- a push changing one manifest, then a rescan of the unchanged head, by that same worker (its
  adapter and report cache kept from the first scan, as a running worker keeps them; nothing
  else ran on it),
- the same no-op rescan after a worker restart (fresh adapter, empty cache).
"counted" leaves out GitHub's 304 answers to conditional requests, which GitHub does not count
against the rate limit. Each row is printed beside a baseline measured in the same run on its
own repository and its own fresh adapter: a straightforward bot that lists the tree, reads
every YAML/JSON file, then commits and opens (or updates) its pull request.
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bot.webhooks.enqueue import InMemoryEnqueuer  # noqa: E402
from bot.webhooks.receiver import Receiver  # noqa: E402
from bot.webhooks.verify import github_signature  # noqa: E402
from tests.fakeforge import FakeForge  # noqa: E402
from tests.fakeforge.app_keys import AppKey  # noqa: E402
from workers.forge.base import (  # noqa: E402
    ChangeRequestDraft,
    ChangeRequestState,
    FileChange,
    Forge,
    RepoRef,
)
from workers.forge.github import GitHubForge  # noqa: E402
from workers.forge.gitlab import GitLabForge  # noqa: E402
from workers.jobs import ScanJob  # noqa: E402
from workers.runtime.settings import Settings  # noqa: E402
from workers.runtime.state import SCANNED, open_state  # noqa: E402
from workers.scan import run as scan  # noqa: E402
from workers.scan.report_cache import ReportCache  # noqa: E402

APP_ID, INSTALLATION, TOKEN, SECRET = 77, 7700, "glpat-bench", b"bench-secret"
REPO = "bench/monorepo"
MANIFEST = (
    "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\n"
    "spec:\n  containers: [{{name: a, image: 'a:{i}'}}]\n"
)
BUMP, BUMP4 = MANIFEST.format(i=33), MANIFEST.format(i=44)


def seed() -> dict[str, str]:
    files = {f"src/module{i // 50}/file{i}.py": f"# {i}\n" for i in range(990)}
    files.update({f"deploy/app{i}.yaml": MANIFEST.format(i=i) for i in range(10)})
    return files


def adapter(kind: str, fake: FakeForge, pem: str) -> Forge:
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


DATA_SUFFIXES = (".yaml", ".yml", ".json")
NAIVE_BRANCH = "naive/fix"


def counted(forge: Forge) -> int:
    """Requests that count against the forge's rate limit (GitHub's 304s do not)."""
    return forge.api_calls - int(getattr(forge, "not_modified", 0))


def naive_calls(forge: Forge, repo: RepoRef, step: str) -> int:
    """What a straightforward bot spends on `step` ("first", "update" or "no-op")."""
    branch, head = forge.default_branch(repo)
    for entry in forge.list_files(repo, head):
        if entry.path.endswith(DATA_SUFFIXES):
            forge.read_file(repo, entry.path, head)
    fixed = [FileChange("deploy/app0.yaml", MANIFEST.format(i="fixed").encode())]
    if step == "first":
        forge.commit_files(repo, NAIVE_BRANCH, head, fixed, "fix", expected_head=None)
        draft = ChangeRequestDraft("fix", "fix", NAIVE_BRANCH, branch)
        forge.create_change_request(repo, draft)
        return counted(forge)
    (request,) = forge.find_change_requests(repo, NAIVE_BRANCH, [ChangeRequestState.OPEN])
    if step == "update":
        current = forge.branch_head(repo, NAIVE_BRANCH)
        forge.commit_files(repo, NAIVE_BRANCH, head, fixed, "fix", expected_head=current)
        forge.update_change_request(repo, request.number, body="fix again")
    return counted(forge)


def receiver_calls_for_irrelevant_push(fake: FakeForge, data_dir: Path) -> tuple[int, int]:
    """(API calls, jobs queued) for a docs-only push to a repository scanned before."""
    settings = Settings.model_validate({"data_dir": data_dir})
    state = open_state(settings)
    state.mark(SCANNED, f"github:{REPO}")
    queue = InMemoryEnqueuer()
    receiver = Receiver({"github": SECRET}, state, queue, installation_spacing=0)
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": "1" * 40,
            "deleted": False,
            "forced": False,
            "installation": {"id": INSTALLATION},
            "repository": {"full_name": REPO, "default_branch": "main"},
            "commits": [{"id": "1" * 40, "added": ["README.md"], "modified": [], "removed": []}],
        }
    ).encode()
    headers = {
        "x-github-event": "push",
        "x-github-delivery": str(uuid.uuid4()),
        "x-hub-signature-256": github_signature(SECRET, body),
        "content-type": "application/json",
    }
    fake.reset_requests()
    receiver.handle("github", headers, body)
    state.close()
    return len(fake.requests), len(queue.jobs)


Row = tuple[str, str, int, int, int, int]  # forge, what, calls, counted, baseline, tree pages
GOALS = {"first": 6, "update": 5, "no-op": 1}
TREE_PAGE = "/repository/tree"  # GitLab lists a tree 100 entries a page: 11 pages here
FIRST, UPDATE = "first scan, 1,000 files", "one manifest changed"
NOOP, NOOP_AGAIN = "no-op rescan after the update", "no-op rescan again"
UPDATE_AGAIN = "another manifest changed"
NOOP_RESTARTED = "no-op rescan, restarted worker"


def forge_rows(kind: str, fake: FakeForge, pem: str, names: dict[str, str]) -> list[Row]:
    bot_repo = RepoRef(kind, names["bot"], INSTALLATION if kind == "github" else None)
    naive_repo = RepoRef(kind, names["naive"], bot_repo.installation_id)
    baseline = {}
    for step in ("first", "update", "no-op"):
        if step == "update":
            fake.push_commit(naive_repo.full_name, "main", {"deploy/app3.yaml": BUMP}, "bump")
        baseline[step] = naive_calls(adapter(kind, fake, pem), naive_repo, step)
    job = ScanJob(forge=kind, repo=bot_repo.full_name, reason="push", installation_id=None)
    job = replace(job, installation_id=bot_repo.installation_id)
    worker, cache = adapter(kind, fake, pem), ReportCache()
    rows: list[Row] = []

    def measure(forge: Forge, what: str, step: str, cache: ReportCache, head: str | None) -> None:
        """`head`: the head the job names, as a push's does (an installation's names none)."""
        calls, free = forge.api_calls, int(getattr(forge, "not_modified", 0))
        fake.reset_requests()
        outcome = scan.run(forge, replace(job, head_sha=head), cache=cache)
        spent = forge.api_calls - calls
        free = int(getattr(forge, "not_modified", 0)) - free
        pages = sum(path.endswith(TREE_PAGE) for _, path in fake.requests)
        label = f"{what} ({outcome.action})"
        rows.append((kind, label, spent, spent - free, baseline[step], pages))

    measure(worker, FIRST, "first", cache, None)
    head = fake.push_commit(bot_repo.full_name, "main", {"deploy/app3.yaml": BUMP}, "bump")
    measure(worker, UPDATE, "update", cache, head)
    measure(worker, NOOP, "no-op", cache, head)
    measure(worker, NOOP_AGAIN, "no-op", cache, head)
    head = fake.push_commit(bot_repo.full_name, "main", {"deploy/app4.yaml": BUMP4}, "bump")
    measure(worker, UPDATE_AGAIN, "update", cache, head)
    measure(adapter(kind, fake, pem), NOOP_RESTARTED, "no-op", ReportCache(), head)
    return rows


def verdicts(rows: list[Row]) -> list[str]:
    """The issue's goals, checked on what rate limits count; the no-op rescan at its steady
    state (the rescan right after an update pays once for the PR list the update changed).
    GitLab's REST tree comes 100 entries a page and its GraphQL tree has no recursive listing
    of blobs with their ids in fewer pages, so its goals are "N + tree pages"."""
    lines = []
    for kind in ("github", "gitlab"):
        mine = {row[1].split(" (")[0]: row for row in rows if row[0] == kind}
        noop_goal = 0 if kind == "github" else GOALS["no-op"]
        for label, row, goal in (
            ("first scan", mine[FIRST], GOALS["first"]),
            ("one-manifest update", mine[UPDATE], GOALS["update"]),
            ("no-op rescan, counted", mine[NOOP_AGAIN], noop_goal),
        ):
            pages = row[5] if kind == "gitlab" else 0
            allowed = f"{goal} + {pages} tree pages" if pages else f"{goal}"
            verdict = "PASS" if row[3] <= goal + pages else "MISS"
            figure = f"{row[3]} = {row[3] - pages} + {pages}" if pages else f"{row[3]}"
            lines.append(f"goal {kind:6} {label:24} <= {allowed:20}: {figure:>12} {verdict}")
    return lines


def main() -> None:
    key = AppKey.generate()
    pem, public = key.private_pem, key.public_pem
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, FakeForge(Path(tmp) / "forge") as fake:
        fake.register_app(APP_ID, public)
        fake.add_token(TOKEN)
        names = {
            kind: {role: f"{REPO}-{kind}-{role}" for role in ("bot", "naive")}
            for kind in ("github", "gitlab")
        }
        every = [name for roles in names.values() for name in roles.values()]
        for name in every:
            fake.create_repo(name, seed())
        fake.add_installation(INSTALLATION, [REPO, *every])
        calls, jobs = receiver_calls_for_irrelevant_push(fake, Path(tmp) / "state")
        assert jobs == 0
        rows.append(("both", "push without YAML/JSON, scanned before", calls, calls, 0, 0))
        for kind in ("github", "gitlab"):
            rows.extend(forge_rows(kind, fake, pem, names[kind]))
    print(f"{'forge':7} {'push':46} {'calls':>5} {'counted':>7} {'baseline':>8} {'tree pages':>10}")
    for kind, what, calls, billed, naive, pages in rows:
        print(f"{kind:7} {what:46} {calls:5d} {billed:7d} {naive or '-':>8} {pages:10d}")
    for line in verdicts(rows):
        print(line)
    label = "push without YAML/JSON"
    verdict = "PASS" if rows[0][3] == 0 else "MISS"
    print(f"goal both   {label:24} <= {'0':20}: {rows[0][3]:>12} {verdict}")


if __name__ == "__main__":
    main()
