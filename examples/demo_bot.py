"""The whole loop on this machine: a local forge seeded with examples/demo, `pullpolicy serve`
on the embedded queue (no Redis), one signed push webhook, and the pull request the bot opens.

    .venv/bin/python examples/demo_bot.py        (what `make demo-bot` runs)
"""

from __future__ import annotations

import difflib
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.harness import APP_ID, GITLAB_TOKEN, Bot, github_push, settings_env, wait_for  # noqa: E402
from tests.fakeforge import FakeForge  # noqa: E402
from tests.fakeforge.app_keys import AppKey  # noqa: E402
from workers.config.model import DEFAULT_BRANCH  # noqa: E402

REPO = "acme/shop"
INSTALLATION = 1


def sample_files() -> dict[str, bytes]:
    root = REPO_ROOT / "examples" / "demo"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def main() -> int:
    key = AppKey.generate()
    pem, public = key.private_pem, key.public_pem
    with tempfile.TemporaryDirectory() as tmp, FakeForge(Path(tmp) / "forge") as forge:
        forge.register_app(APP_ID, public)
        forge.add_token(GITLAB_TOKEN)
        first = forge.create_repo(REPO, {"README.md": "# shop\n"})
        head = forge.push_commit(REPO, "main", dict(sample_files()), "add manifests")
        forge.add_installation(INSTALLATION, [REPO])
        print(f"local forge at {forge.url}, repository {REPO} seeded from examples/demo")
        env = settings_env(
            github_api_url=forge.github_api_url,
            gitlab_url=forge.gitlab_url,
            private_key=pem,
            data_dir=Path(tmp) / "data",
            redis_url=None,
        )
        bot = Bot(env, Path(tmp))
        try:
            print("starting `pullpolicy serve` (receiver + embedded worker, SQLite queue) ...")
            bot.start_receiver(embedded_worker=True)
            touched = sorted(sample_files())
            response = bot.github("push", github_push(REPO, INSTALLATION, first, head, touched))
            print(f"push webhook → HTTP {response.status_code} {response.text}")
            requests = wait_for(lambda: forge.change_requests(REPO), timeout=120, what="the PR")
        except AssertionError as error:
            print(f"{error}\n{bot.diagnostics()}", file=sys.stderr)
            return 1
        finally:
            bot.stop()
        request = requests[0]
        print(f"\n=== PR #{request.number}: {request.title}\n\n{request.body}\n")
        before, after = forge.files(REPO, "main"), forge.files(REPO, DEFAULT_BRANCH)
        for path in sorted(after):
            if before.get(path) != after[path]:
                old = before.get(path, b"").decode().splitlines(keepends=True)
                new = after[path].decode().splitlines(keepends=True)
                sys.stdout.writelines(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
