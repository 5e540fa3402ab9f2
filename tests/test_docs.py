"""The documentation is generated where it can be, and what is written by hand holds up:
links and anchors resolve, Mermaid blocks are diagrams, examples validate, commands exist.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from bot.webhooks.body import MAX_BODY_BYTES
from docs import generate
from docs.reference import setting_descriptions
from docs.sample_pr import sample_pull_request
from tests.docs_markdown import Document, github_slug, is_external
from tests.e2e.harness import DEPLOYMENT
from workers.cli.main import build_parser
from workers.config.loading import parse_config
from workers.config.model import Config
from workers.core.explain import parse_marker
from workers.core.manifest import check_manifest
from workers.core.review import comment_body, suggestions
from workers.core.tree import MAX_FILE_BYTES
from workers.core.yamldoc import MAX_DEPTH
from workers.runtime.settings import Settings

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
MERMAID_DIAGRAMS = (
    "flowchart",
    "graph",
    "sequenceDiagram",
    "classDiagram",
    "stateDiagram",
    "stateDiagram-v2",
    "erDiagram",
    "journey",
    "gantt",
    "pie",
    "gitGraph",
    "mindmap",
    "timeline",
)
# A state diagram line: a transition (optionally labelled), a state declaration, a note or a
# direction. Anything else is a typo Mermaid would refuse to render.
STATE_LINE = re.compile(
    r"(?:(?:\[\*\]|[\w.]+)\s*-->\s*(?:\[\*\]|[\w.]+)(?:\s*:\s*\S.*)?"
    r"|state\s.+|note\s.+|end note|direction\s+(?:LR|RL|TB|BT)|[\w.]+\s*:\s*\S.*|%%.*)"
)
CONFIG_EXAMPLE_HEADER = "# .pullpolicy.yml"


def _id(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# --- Generated pages ----------------------------------------------------------------------


def test_generated_pages_are_up_to_date() -> None:
    stale = generate.stale_pages(REPO)
    assert not stale, f"{', '.join(stale)} stale: run `{generate.REFRESH_COMMAND}` and commit"


def test_generated_pages_name_no_local_path() -> None:
    for path, text in generate.render_pages().items():
        assert str(REPO) not in text, f"{path} names this checkout's absolute path"


def test_every_setting_has_a_description() -> None:
    described = setting_descriptions()
    missing = [name for name in Settings.model_fields if not described.get(name)]
    assert not missing, (
        f"settings without a description: {missing}; add a docstring below each field in "
        "workers/runtime/settings.py, then run `make docs`"
    )


def test_sample_pr_is_a_complete_bot_pull_request() -> None:
    sample = sample_pull_request()
    marker = parse_marker(sample.body)
    assert marker is not None, "the sample body must end with the bot's state marker"
    fixed_rows = [line for line in sample.body.splitlines() if "→ `Always`" in line]
    assert len(marker[1]) == len(fixed_rows) > 0
    assert sample.branch == "pullpolicy/always-pull-images"
    lines = sample.diff.splitlines()
    changed = [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed and all("ullPolicy" in line or '"image"' in line for line in changed)


# --- Links, anchors and diagrams ----------------------------------------------------------


def test_github_slugs() -> None:
    assert github_slug("Configuration: `.pullpolicy.yml`") == "configuration-pullpolicyyml"
    assert github_slug("How does this compare with A, B?") == "how-does-this-compare-with-a-b"
    assert github_slug("`pull_request`") == "pull_request"
    assert github_slug("See [the docs](x.md) — now") == "see-the-docs--now"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    document = Document.read(page)
    broken = []
    for link in document.links():
        if is_external(link.target):
            continue
        path_part, _, fragment = link.target.partition("#")
        target = (page.parent / unquote(path_part)).resolve() if path_part else page
        where = f"{_id(page)}:{link.line}: {link.target}"
        if not target.is_relative_to(REPO) or not target.exists():
            broken.append(f"{where} (no such file)")
        elif fragment and target.suffix == ".md":
            if fragment not in Document.read(target).anchors():
                broken.append(f"{where} (no such heading)")
        elif fragment:
            broken.append(f"{where} (anchor into a file that is not Markdown)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_readme_has_a_mermaid_lifecycle() -> None:
    assert any(block.info == "mermaid" for block in Document.read(README).blocks)


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_mermaid_blocks_are_diagrams(page: Path) -> None:
    for block in Document.read(page).blocks:
        if block.info != "mermaid":
            continue
        lines = [line.strip() for line in block.text.splitlines() if line.strip()]
        where = f"{_id(page)}:{block.line}"
        assert lines and lines[0].split()[0] in MERMAID_DIAGRAMS, f"{where}: unknown diagram"
        if lines[0].startswith("stateDiagram"):
            bad = [line for line in lines[1:] if not STATE_LINE.fullmatch(line)]
            assert not bad, f"{where}: not state diagram syntax: {bad}"


# --- What the README says -----------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_config_examples_are_valid(page: Path) -> None:
    examples = [
        block
        for block in Document.read(page).blocks
        if block.info == "yaml" and block.text.startswith(CONFIG_EXAMPLE_HEADER)
    ]
    for block in examples:
        parse_config(block.text.encode(), source=f"{_id(page)}:{block.line}")
    if page == README:
        assert examples, f"the README shows a `{CONFIG_EXAMPLE_HEADER}` example"


def _commands(document: Document, program: str) -> list[str]:
    in_blocks = [
        line.split("#")[0].strip()
        for block in document.blocks
        if block.info in ("sh", "")
        for line in block.text.splitlines()
    ]
    candidates = in_blocks + document.code_spans()
    return [text for text in candidates if text.startswith(f"{program} ")]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("pullpolicy has no subcommands")


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_cli_commands_and_options_exist(page: Path) -> None:
    subcommands = _subcommands(build_parser())
    for command in _commands(Document.read(page), "pullpolicy"):
        words = shlex.split(command.replace("[", " ").replace("]", " "))
        name = words[1]
        assert name in subcommands, f"{_id(page)}: `{command}`: no subcommand {name!r}"
        known = set(subcommands[name]._option_string_actions)
        unknown = [word for word in words[2:] if word.startswith("-") and word not in known]
        assert not unknown, f"{_id(page)}: `{command}`: unknown options {unknown}"


def test_make_targets_exist() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for page in PAGES:
        for command in _commands(Document.read(page), "make"):
            target = command.split()[1]
            assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), (
                f"{_id(page)}: `{command}`: no such Makefile target"
            )


def test_readme_limits_match_the_code() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert f"files over {MAX_FILE_BYTES // 2**20} MiB" in text
    assert f"nesting deeper than {MAX_DEPTH} levels" in text
    assert f"413 over {MAX_BODY_BYTES // 10**6} MB" in text  # MB, as GitHub counts


def test_the_pre_commit_snippet_pins_a_commit_that_has_its_hooks() -> None:
    # A tag that does not exist would fail every user who copies the snippet.
    snippet = next(
        block.text
        for block in Document.read(README).blocks
        if block.info == "yaml" and "repos:" in block.text
    )
    (repository,) = yaml.safe_load(snippet)["repos"]
    rev = str(repository["rev"])
    assert re.fullmatch(r"[0-9a-f]{40}", rev), f"pin a full commit SHA, not {rev!r}"
    ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", rev, "HEAD"], cwd=REPO)
    assert ancestor.returncode == 0, f"{rev} is not a commit of this repository's history"
    shown = subprocess.run(
        ["git", "show", f"{rev}:.pre-commit-hooks.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    hooks_then = {hook["id"] for hook in yaml.safe_load(shown.stdout)}
    assert {hook["id"] for hook in repository["hooks"]} <= hooks_then


def test_the_readme_suggestion_is_the_one_the_bot_posts() -> None:
    report = check_manifest("k8s/web.yaml", DEPLOYMENT.encode(), Config(), fix=True)
    assert report.fixed is not None
    (only,) = suggestions("k8s/web.yaml", DEPLOYMENT, report.fixed.decode(), report.findings)
    assert f"````markdown\n{comment_body(only)}\n````" in README.read_text(encoding="utf-8")
