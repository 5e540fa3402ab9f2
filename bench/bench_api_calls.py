"""API calls per push, measured on the local fake forge (not a test; run it directly).

    .venv/bin/python bench/bench_api_calls.py

For GitHub (App auth) and GitLab, on a repository of 1,000 files of which ten are manifests:
- a push touching no YAML/JSON to a repository scanned before (the receiver drops it: 0 calls),
- the first scan (opens the PR),
- a push changing one manifest (worker with its per-blob cache: only that file is read).
Each is printed beside a naive baseline measured in the same run: list the tree and read every
file, as a bot without the pre-filter and the cache would.
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bot.webhooks.enqueue import InMemoryEnqueuer  # noqa: E402
from bot.webhooks.receiver import Receiver  # noqa: E402
from bot.webhooks.verify import github_signature  # noqa: E402
from tests.fakeforge import FakeForge  # noqa: E402
from tests.fakeforge.app_keys import AppKey  # noqa: E402
from workers.forge.base import Forge, RepoRef  # noqa: E402
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


def naive_calls(forge: Forge, repo: RepoRef) -> int:
    before = forge.api_calls
    _, head = forge.default_branch(repo)
    for entry in forge.list_files(repo, head):
        forge.read_file(repo, entry.path, head)
    return forge.api_calls - before


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


def main() -> None:
    key = AppKey.generate()
    pem, public = key.private_pem, key.public_pem
    rows: list[tuple[str, str, int, int]] = []
    with tempfile.TemporaryDirectory() as tmp, FakeForge(Path(tmp) / "forge") as fake:
        fake.register_app(APP_ID, public)
        fake.add_token(TOKEN)
        names = {kind: f"{REPO}-{kind}" for kind in ("github", "gitlab")}
        for name in (REPO, *names.values()):
            fake.create_repo(name, seed())
        fake.add_installation(INSTALLATION, [REPO, *names.values()])
        calls, jobs = receiver_calls_for_irrelevant_push(fake, Path(tmp) / "state")
        rows.append(("both", "docs-only push, scanned before", calls, 0))
        assert jobs == 0
        for kind in ("github", "gitlab"):
            forge = adapter(kind, fake, pem)
            name = names[kind]
            repo = RepoRef(kind, name, INSTALLATION if kind == "github" else None)
            naive = naive_calls(forge, repo)
            job = ScanJob(
                forge=kind, repo=name, reason="push", installation_id=repo.installation_id
            )
            cache = ReportCache()
            first = scan.run(forge, job, cache=cache)
            rows.append((kind, f"first scan, 1,000 files ({first.action})", first.api_calls, naive))
            fake.push_commit(name, "main", {"deploy/app3.yaml": MANIFEST.format(i=33)}, "bump")
            second = scan.run(forge, job, cache=cache)
            rows.append((kind, f"one manifest changed ({second.action})", second.api_calls, naive))
    print(f"{'forge':7} {'push':42} {'API calls':>9} {'naive':>6} {'ratio':>6}")
    for kind, what, calls, naive in rows:
        ratio = f"{calls / naive:.3f}" if naive else "-"
        print(f"{kind:7} {what:42} {calls:9d} {naive or '-':>6} {ratio:>6}")
    print(
        "target: a docs-only push to a scanned repository costs 0 calls:",
        "PASS" if rows[0][2] == 0 else "MISS",
    )


if __name__ == "__main__":
    main()
