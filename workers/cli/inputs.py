"""What a local command scans: trees and files from the command line, their config, the scan."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from workers.cli.errors import UsageError
from workers.config.loading import parse_config
from workers.config.model import CONFIG_FILENAME, Config
from workers.core.findings import Exempted, FileReport, Finding
from workers.core.renders import Renderers, Verification
from workers.core.tree import ReadError, ScanPlan, plan_scan, scan
from workers.render import helm, kustomize
from workers.scan.localfs import LocalTree

PROGRESS_MIN_FILES = 200
NOT_RENDERED = (
    "charts not rendered: install pullpolicy[render] (Helm's engine);"
    " their values.yaml files are checked as text"
)
KUSTOMIZATIONS_NOT_RENDERED = "kustomizations not rendered: kubectl not found"


@dataclass(frozen=True)
class Input:
    """One scanned tree: a directory argument, or the files named on the command line."""

    tree: LocalTree
    plan: ScanPlan
    config: Config
    prefix: str  # how the user spelled the tree, prepended to reported paths


def resolve(paths: Sequence[Path], config_file: Path | None) -> list[Input]:
    override = _load(config_file) if config_file else None
    inputs: list[Input] = []
    loose: list[str] = []
    for path in paths:
        if path.is_symlink():
            raise UsageError(f"{path}: symbolic links are not followed")
        if path.is_dir():
            config = override or _load_if_present(path / CONFIG_FILENAME)
            tree = LocalTree(path)
            prefix = "" if path == Path() else path.as_posix()
            inputs.append(Input(tree, plan_scan(tree.paths(), config), config, prefix))
        elif path.is_file():
            loose.append(_relative_to_cwd(path))
        else:
            raise UsageError(f"{path}: no such file or directory")
    if loose:
        config = override or _load_if_present(Path(CONFIG_FILENAME))
        # Named files are not a kustomization's closure: those render when a directory is scanned.
        plan = replace(plan_scan(loose, config), kustomizations=(), paths=())
        inputs.append(Input(LocalTree(Path()), plan, config, ""))
    return inputs


def run_scan(
    inputs: Sequence[Input], *, fix: bool, charts: list[Verification] | None = None
) -> Iterator[tuple[Input, FileReport]]:
    """Reports for every input, with a progress bar on stderr for large trees at a terminal.

    Charts are rendered with Helm when its engine is installed, kustomizations with kubectl
    when it is found; `charts` receives one Verification per chart and kustomization: verified
    (rendered before and after the fix) or why not, its root as displayed."""
    total = sum(item.plan.size for item in inputs)
    show = total >= PROGRESS_MIN_FILES and sys.stdout.isatty() and sys.stderr.isatty()
    done = 0
    with _renderers(inputs) as renderers:
        for item in inputs:

            def heard(verification: Verification, prefix: str = item.prefix) -> None:
                if charts is not None:
                    root = verification.root
                    shown = f"{prefix}/{root}" if prefix and root else prefix or root
                    charts.append(replace(verification, root=shown))

            for report in scan(
                item.plan, item.tree.read, item.config, fix=fix, renderers=renderers,
                verified=heard,
            ):  # fmt: skip
                done += 1
                if show and (done % 50 == 0 or done == total):
                    _progress(done, total)
                yield item, report
    if show:
        sys.stderr.write("\r\x1b[2K")


@contextmanager
def _renderers(inputs: Sequence[Input]) -> Iterator[Renderers | None]:
    """Helm's engine when a chart is to be scanned, kubectl kustomize when a kustomization is;
    without one, one line says what is not rendered (chart values are then read as text)."""
    charts = any(item.plan.charts for item in inputs)
    kustomizations = any(item.plan.kustomizations for item in inputs)
    if charts and not helm.available():
        sys.stderr.write(NOT_RENDERED + "\n")
        charts = False
    if kustomizations and not kustomize.available():
        sys.stderr.write(KUSTOMIZATIONS_NOT_RENDERED + "\n")
        kustomizations = False
    if not charts and not kustomizations:
        yield None
        return
    with ExitStack() as stack:
        engine = stack.enter_context(helm.HelmEngine()) if charts else None
        yield Renderers(helm=engine, kustomize=kustomize.render if kustomizations else None)


def displayed(report: FileReport, prefix: str) -> FileReport:
    """The report with paths as the user spelled them (prefix/relative path)."""
    if not prefix:
        return report

    def moved(finding: Finding) -> Finding:
        rendered_in = finding.rendered_in
        if rendered_in is not None:
            rendered_in = prefix if rendered_in == "." else f"{prefix}/{rendered_in}"
        return replace(finding, path=f"{prefix}/{finding.path}", rendered_in=rendered_in)

    return replace(
        report,
        path=f"{prefix}/{report.path}",
        findings=tuple(moved(f) for f in report.findings),
        exempted=tuple(Exempted(moved(e.finding), e.reason) for e in report.exempted),
        unfixable=tuple((moved(f), reason) for f, reason in report.unfixable),
    )


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
    sys.stderr.flush()


def _load(file: Path) -> Config:
    try:
        return parse_config(file.read_bytes(), source=str(file))
    except OSError as error:
        raise UsageError(f"{file}: {error.strerror}") from None


def _load_if_present(file: Path) -> Config:
    return _load(file) if file.is_file() else Config()


def _relative_to_cwd(path: Path) -> str:
    relative = os.path.relpath(path)
    if relative.startswith(".."):
        raise UsageError(f"{path}: files outside the current directory: pass their directory")
    return Path(relative).as_posix()


__all__ = ["Input", "ReadError", "UsageError", "displayed", "resolve", "run_scan"]
