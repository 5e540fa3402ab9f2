"""`make mutation`: mutation testing (mutmut) of the code that protects users, one module at a
time with the tests that cover it, in a scratch copy of the repository (the working tree is
never mutated). Fails when a mutant survives, or no listed test reaches it, and docs/mutation.md
does not list it as equivalent.

Usage: python -m tests.mutation.run [MODULE...]   (default: every module in TARGETS)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "mutation.md"
MUTMUT = "mutmut==3.8.1"

# module -> the tests that cover it (kept small: each mutant runs the tests that reach it).
TARGETS: dict[str, tuple[str, ...]] = {
    "workers/core/guard.py": ("tests/workers/core/test_guard.py",),
    "workers/core/patch.py": (
        "tests/workers/core/test_patch.py",
        "tests/workers/core/test_fidelity.py",
        "tests/workers/core/test_guard.py",
        "tests/workers/core/test_bad_input.py",
        "tests/workers/core/test_detect.py",
        "tests/workers/core/test_crds.py",
        "tests/workers/core/test_crds_golden.py",
    ),
    "workers/core/renders.py": (
        "tests/workers/core/test_renders.py",
        "tests/workers/core/test_charts.py",
        "tests/workers/core/test_overlays.py",
    ),
    "workers/tasks/pacing.py": ("tests/workers/tasks/test_pacing.py",),
    "workers/scan/pr_decision.py": ("tests/workers/scan/test_pr_decision.py",),
    "bot/webhooks/verify.py": ("tests/bot/webhooks/test_verify.py",),
    "bot/webhooks/events.py": ("tests/bot/webhooks/test_events.py",),
    "bot/webhooks/receiver.py": (
        "tests/bot/test_app.py",
        "tests/bot/test_observability.py",
        "tests/bot/webhooks/test_enqueue.py",
        "tests/bot/webhooks/test_one_trip.py",
        "tests/bot/webhooks/test_receiver.py",
    ),
}
LISTED = re.compile(r"`([\w.]+__mutmut_\d+)`")


def main(argv: list[str]) -> int:
    modules = argv or list(TARGETS)
    _ensure_mutmut()
    equivalent = set(LISTED.findall(DOC.read_text("utf-8")))
    unexplained: list[str] = []
    for module in modules:
        survivors = _run(module, TARGETS[module])
        unexplained += [name for name, _ in survivors if name not in equivalent]
        for name, diff in survivors:
            mark = "equivalent" if name in equivalent else "SURVIVED"
            print(f"{mark}: {name}\n{diff}")
    if unexplained:
        print(f"{len(unexplained)} surviving mutants are not listed in docs/mutation.md:")
        print("\n".join(f"  {name}" for name in unexplained))
        return 1
    print("every mutant was killed or is listed as equivalent in docs/mutation.md")
    return 0


def _ensure_mutmut() -> None:
    if shutil.which("mutmut", path=str(Path(sys.executable).parent)) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", MUTMUT], check=True)


def _run(module: str, tests: tuple[str, ...]) -> list[tuple[str, str]]:
    """The surviving (or unreached) mutants of `module` as (name, diff)."""
    with tempfile.TemporaryDirectory(prefix="pullpolicy-mutation-") as scratch:
        work = Path(scratch)
        _copy_tree(work)
        # Both packages: the tests import both, and must import them from the copy.
        (work / "setup.cfg").write_text(
            "[mutmut]\n"
            "source_paths=\n    bot\n    workers\n"
            f"only_mutate={module}\n"
            "pytest_add_cli_args_test_selection=\n"
            + "".join(f"    {test}\n" for test in tests)
            + "pytest_add_cli_args=-p no:randomly\n"
            "also_copy=examples\n"
        )
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        print(f"== {module} ({', '.join(tests)})", flush=True)
        subprocess.run(
            ["mutmut", "run", "--max-children", "1"],
            cwd=work,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        results = subprocess.run(
            ["mutmut", "results"], cwd=work, env=env, capture_output=True, text=True, check=True
        ).stdout
        # A mutant no listed test reaches ("no tests") is as untested as one that survives.
        names = [
            line.split(":")[0].strip()
            for line in results.splitlines()
            if line.rstrip().endswith((": survived", ": no tests"))
        ]
        return [(name, _diff(work, env, name)) for name in names]


def _diff(work: Path, env: dict[str, str], name: str) -> str:
    shown = subprocess.run(
        ["mutmut", "show", name], cwd=work, env=env, capture_output=True, text=True, check=False
    ).stdout
    return "\n".join(
        line for line in shown.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    )


def _copy_tree(target: Path) -> None:
    """Tracked and new (not ignored) files, as the next commit would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = REPO / raw.decode()
        if source.is_file():
            destination = target / raw.decode()
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
