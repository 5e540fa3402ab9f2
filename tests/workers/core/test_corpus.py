"""The core against ~2,900 real manifests (../shared/corpus): fix everything, then check that
every change is an `imagePullPolicy` change, that bytes around it survive, that a second pass
finds nothing fixable and changes nothing, and that Helm templates are never touched.

One fix pass over the original and one over the fixed copy are shared by all tests (module
fixture); both run in a process pool because the semantic guard makes fixing CPU-bound.
Run with `-s` to see the per-project counts.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import corpus as corpus_helper
from tests.corpus import (
    BOM,
    EOLS,
    POLICY_KEY,
    first_eol,
    is_inserted_line,
    project_of,
    require_corpus,
    split_eol,
    template_dirs,
    unexpected_changes,
)
from workers.config.model import Config
from workers.core.findings import FileReport
from workers.core.tree import ScanPlan, plan_scan, scan
from workers.scan.localfs import LocalTree


@dataclass(frozen=True)
class CorpusRun:
    original: Path
    fixed_copy: Path
    plan: ScanPlan
    first: dict[str, FileReport]  # fix=True over the original
    second: dict[str, FileReport]  # fix=True over the copy with every fix written


def _scan_chunk(root: Path, plan: ScanPlan, fix: bool) -> list[FileReport]:
    tree = LocalTree(root)
    return list(scan(plan, tree.read, Config(), fix=fix))


def _chunks(root: Path, plan: ScanPlan, count: int) -> list[ScanPlan]:
    """Split a plan into `count` manifest plans of similar total size, plus the charts."""
    sizes = {path: (root / path).stat().st_size for path in plan.manifests}
    buckets: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    for path in sorted(plan.manifests, key=lambda p: -sizes[p]):
        lightest = loads.index(min(loads))
        buckets[lightest].append(path)
        loads[lightest] += sizes[path]
    plans = [ScanPlan(tuple(sorted(bucket))) for bucket in buckets if bucket]
    return [*plans, ScanPlan((), plan.charts)]


def _scan_all(root: Path, plan: ScanPlan, *, fix: bool) -> dict[str, FileReport]:
    workers = max(1, min(4, os.cpu_count() or 1))
    chunks = _chunks(root, plan, workers)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = pool.map(_scan_chunk, [root] * len(chunks), chunks, [fix] * len(chunks))
        reports = [report for chunk in results for report in chunk]
    by_path = {report.path: report for report in reports}
    assert len(by_path) == len(reports), "a file was reported twice"
    return by_path


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> CorpusRun:
    original = require_corpus()
    fixed_copy = tmp_path_factory.mktemp("corpus") / "copy"
    shutil.copytree(original, fixed_copy, symlinks=True)
    plan = plan_scan(LocalTree(original).paths(), Config())
    first = _scan_all(original, plan, fix=True)  # raising here fails every test
    tree = LocalTree(fixed_copy)
    for path, report in first.items():
        if report.fixed is not None:
            tree.write(path, report.fixed)
    second = _scan_all(fixed_copy, plan, fix=True)
    return CorpusRun(original, fixed_copy, plan, first, second)


def _fixed(run: CorpusRun) -> Iterator[tuple[str, str, str]]:
    """(path, old text, new text) of every file the first pass changed."""
    for path, report in sorted(run.first.items()):
        if report.fixed is not None:
            old = (run.original / path).read_bytes().decode("utf-8")
            yield path, old, report.fixed.decode("utf-8")


def _keys_fixed(report: FileReport) -> set[str]:
    """Keys whose values the fix may change: imagePullPolicy, or a Helm values key."""
    keys = {POLICY_KEY}
    keys.update(f.value_path.rsplit(".", 1)[-1] for f in report.findings if f.value_path)
    return keys


def test_missing_corpus_skips_with_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI turns this skip into a failure like every other (tests/require_all.py).
    monkeypatch.setattr(corpus_helper, "CORPUS_DIR", tmp_path / "absent")
    with pytest.raises(pytest.skip.Exception, match="shared/corpus"):
        require_corpus()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("  imagePullPolicy: Never  # c\n", "  imagePullPolicy: Always  # c\n"),
        ("  imagePullPolicy: 'IfNotPresent'\n", "  imagePullPolicy: 'Always'\n"),
        ("- image: a\n  name: b\n", "- image: a\n  imagePullPolicy: Always\n  name: b\n"),
        ("- {name: b, image: a}\n", "- {name: b, image: a, imagePullPolicy: Always}\n"),
        ('    "image": "a"\n  }\n', '    "image": "a",\n    "imagePullPolicy": "Always"\n  }\n'),
        ("a: 1\r\nimage: x\r\n", "a: 1\r\nimage: x\r\nimagePullPolicy: Always\r\n"),
    ],
)
def test_change_checker_accepts_the_fix(old: str, new: str) -> None:
    assert unexpected_changes(old, new) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("  imagePullPolicy: 'Never'\n", "  imagePullPolicy: Always\n"),
        ("  imagePullPolicy: Never  # c\n", "  imagePullPolicy: Always # c\n"),
        ("  imagePullPolicy: Never\n", "  imagePullPolicy: IfNotPresent\n"),
        ("  image: a  # c\n", "  image: a\n  imagePullPolicy: Always  # c\n"),
        ("  image: a\n  name: b\n", "  image: a\n  imagePullPolicy: Always\n    name: b\n"),
        ("  name: b\n", "  name: b\n  imagePullPolicy: Always\n  x: 1\n"),
        ("  image: a\n  # c\n", "  image: a\n  imagePullPolicy: Always\n"),
        ('    "name": "a"\n', '    "name": "a",\n'),
    ],
)
def test_change_checker_rejects_anything_else(old: str, new: str) -> None:
    assert unexpected_changes(old, new) != []


@pytest.mark.corpus
def test_counts_per_project_are_sane(corpus_run: CorpusRun) -> None:
    counts: dict[str, Counter[str]] = {}
    for path, report in corpus_run.first.items():
        row = counts.setdefault(project_of(path), Counter())
        row["files"] += 1
        row["findings"] += len(report.findings)
        row["exempted"] += len(report.exempted)
        row["unfixable"] += len(report.unfixable)
        row["skipped"] += report.skipped is not None
        row["fixed files"] += report.fixed is not None
    columns = ("files", "findings", "exempted", "unfixable", "skipped", "fixed files")
    total: Counter[str] = sum(counts.values(), Counter())
    print()
    print(f"{'project':45}" + "".join(f"{c:>12}" for c in columns))
    for project, row in [*sorted(counts.items()), ("total", total)]:
        print(f"{project:45}" + "".join(f"{row[c]:>12}" for c in columns))

    assert len(counts) >= 10, "every upstream project is scanned"
    assert total["findings"] >= 100
    assert total["fixed files"] >= 100
    assert total["unfixable"] < total["findings"] / 10
    assert total["skipped"] < total["files"] / 20
    projects_with_findings = [p for p, row in counts.items() if row["findings"]]
    assert len(projects_with_findings) >= 8
    for path, report in corpus_run.first.items():
        if report.skipped is not None:
            assert report.skipped.strip(), f"{path}: skipped without a reason"
            assert report.fixed is None, f"{path}: skipped yet rewritten"


@pytest.mark.corpus
def test_every_changed_line_is_a_pull_policy_change(corpus_run: CorpusRun) -> None:
    problems: list[str] = []
    for path, old, new in _fixed(corpus_run):
        keys = _keys_fixed(corpus_run.first[path])
        problems.extend(f"{path}: {problem}" for problem in unexpected_changes(old, new, keys))
    assert not problems, "\n".join(problems)


@pytest.mark.corpus
def test_line_endings_bom_and_final_newline_survive(corpus_run: CorpusRun) -> None:
    broken: list[str] = []
    for path, old, new in _fixed(corpus_run):
        eol = first_eol(old)
        if old.startswith(BOM) != new.startswith(BOM):
            broken.append(f"{path}: BOM")
        if old.endswith(EOLS) != new.endswith(EOLS):
            broken.append(f"{path}: final newline")
        for line in new.splitlines(keepends=True):
            if is_inserted_line(line) and split_eol(line)[1] not in (eol, ""):
                broken.append(f"{path}: inserted line ends with {split_eol(line)[1]!r}")
        old_endings = Counter(split_eol(line)[1] for line in old.splitlines(keepends=True))
        new_endings = Counter(split_eol(line)[1] for line in new.splitlines(keepends=True))
        if set(new_endings) - set(old_endings) - {""}:
            broken.append(f"{path}: new line ending kinds {set(new_endings)}")
    assert broken == []


@pytest.mark.corpus
def test_crlf_files_are_fixed_as_crlf(corpus_run: CorpusRun) -> None:
    crlf = [(path, new) for path, old, new in _fixed(corpus_run) if first_eol(old) == "\r\n"]
    for path, new in crlf:
        assert new.count("\n") == new.count("\r\n"), path
    print(f"\n{len(crlf)} CRLF files fixed")


@pytest.mark.corpus
def test_second_pass_finds_only_what_first_pass_could_not_fix(corpus_run: CorpusRun) -> None:
    allowed: set[tuple[str, str]] = set()
    for path, report in corpus_run.first.items():
        leftover = report.findings if report.skipped else [f for f, _ in report.unfixable]
        allowed.update((path, finding.fingerprint) for finding in leftover)
    remaining = {
        (path, finding.fingerprint): f"{finding.path}:{finding.line} {finding.container}"
        for path, report in corpus_run.second.items()
        for finding in report.findings
    }
    assert {key: where for key, where in remaining.items() if key not in allowed} == {}
    assert len(remaining) <= len(allowed)


@pytest.mark.corpus
def test_fixing_the_fixed_copy_changes_nothing(corpus_run: CorpusRun) -> None:
    rewritten = sorted(path for path, r in corpus_run.second.items() if r.fixed is not None)
    assert rewritten == []


@pytest.mark.corpus
def test_only_fixed_files_differ_in_the_copy(corpus_run: CorpusRun) -> None:
    changed = {path for path, report in corpus_run.first.items() if report.fixed is not None}
    for path in LocalTree(corpus_run.original).paths():
        same = (corpus_run.original / path).read_bytes() == (
            corpus_run.fixed_copy / path
        ).read_bytes()
        assert same != (path in changed), path


def _reported_paths(reports: Sequence[FileReport]) -> Iterator[str]:
    for report in reports:
        yield report.path
        yield from (finding.path for finding in report.findings)
        yield from (exempted.finding.path for exempted in report.exempted)
        yield from (finding.path for finding, _ in report.unfixable)


@pytest.mark.corpus
def test_helm_templates_are_untouched_and_never_reported(corpus_run: CorpusRun) -> None:
    templates = tuple(template_dirs(corpus_run.original))
    files = [p for p in LocalTree(corpus_run.original).paths() if p.startswith(templates)]
    assert len(files) >= 100, "the corpus holds Helm charts"
    for path in files:
        original = (corpus_run.original / path).read_bytes()
        assert (corpus_run.fixed_copy / path).read_bytes() == original, path
    assert not any(path.startswith(templates) for path in corpus_run.plan.manifests)
    reports = [*corpus_run.first.values(), *corpus_run.second.values()]
    assert [p for p in _reported_paths(reports) if p.startswith(templates)] == []
