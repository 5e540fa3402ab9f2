"""Kustomizations: render each one, attribute every non-Always container to the file that decides
it, fix it there and keep the fix only if every render that reads the file stays the same but
for pull policies. Pure: files come through `read`, renders through a `Render` function.

A container is decided by the last patch that writes its policy or the whole container (a JSON
6902 op, a strategic-merge patch in a file or inline), else by its base resource, which the
plain manifest scan already reports and fixes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from workers.config.model import Config
from workers.core import guard
from workers.core.detect import ALWAYS, DECLINED, detect
from workers.core.exemptions import file_ignored, line_ignored
from workers.core.findings import Exempted, FileReport, Finding, fingerprint
from workers.core.globs import glob_match
from workers.core.kustomizations import (
    KUSTOMIZATION_FILES,
    BadKustomization,
    Closure,
    closure,
    join,
    kustomization_dirs,
)
from workers.core.kustomize_patches import Rendered, Site, policy_sites
from workers.core.manifest import check_manifest
from workers.core.patch import Edit, Unfixable, apply, is_json
from workers.core.reads import ReadError
from workers.core.renders import (
    KUSTOMIZATION,
    Render,
    RenderFailed,
    Verification,
    difference,
    rendered_findings,
)
from workers.core.yamldoc import BOM, Unparseable, decode, encoding_of, get, parse, scalar

KIND = KUSTOMIZATION
Read = Callable[[str], bytes]


def check_kustomizations(
    paths: Iterable[str],
    read: Read,
    original: Read,
    render: Render,
    config: Config,
    *,
    fix: bool = False,
    declined: frozenset[str] = frozenset(),
) -> tuple[list[FileReport], list[Verification]]:
    """Findings at the patches that decide rendered containers, and one Verification per
    kustomization. `read` gives the current bytes (after the plain manifest fixes), `original`
    the bytes before any fix; with `fix`, each report's `fixed` is the whole new file."""
    run = _Run(frozenset(paths), read, original, render, config, fix, declined)
    closures = run.closures()
    for root, plan in closures.items():
        run.check(root, plan)
    verifications = [run.verify(root, closures.get(root)) for root in run.roots]
    return run.reports(), verifications


def display(root: str) -> str:
    return root or "."


@dataclass
class _Run:
    paths: frozenset[str]
    read_current: Read
    original: Read
    render: Render
    config: Config
    fix: bool
    declined: frozenset[str]
    roots: list[str] = field(default_factory=list)
    before: dict[str, Mapping[str, str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # root -> why it is not verified
    dropped: dict[str, str] = field(default_factory=dict)  # root -> why its edits were dropped
    edited: dict[str, bytes] = field(default_factory=dict)  # path -> bytes with kept edits
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    exempted: dict[str, list[Exempted]] = field(default_factory=dict)
    unfixable: dict[str, list[tuple[Finding, str]]] = field(default_factory=dict)
    cache: dict[tuple[str, str], Mapping[str, str] | str] = field(default_factory=dict)
    plans: dict[str, Closure] = field(default_factory=dict)
    reported: set[tuple[str, tuple[int, int], str | None]] = field(default_factory=set)

    def _included(self, path: str) -> bool:
        """Not excluded by `paths.exclude` (a `Kustomization` file matches no include glob,
        yet kustomize reads it)."""
        return not any(glob_match(pattern, path) for pattern in self.config.paths.exclude)

    def _ignored(self, site: Site) -> str | None:
        """`# pullpolicy: ignore` on the site's line or a comment line above it, or
        `# pullpolicy: ignore-file` in its file."""
        try:
            text = decode(self.read(site.path))
        except (Unparseable, ReadError):
            return None
        if file_ignored(text):
            return "comment # pullpolicy: ignore-file"
        lines = text.splitlines()
        line, _ = site.position()
        own = lines[line - 1] if line <= len(lines) else ""
        above = lines[line - 2] if 1 < line <= len(lines) + 1 else ""
        if line_ignored(own) or (above.lstrip("- ").startswith("#") and line_ignored(above)):
            return "comment # pullpolicy: ignore"
        return None

    def read(self, path: str) -> bytes:
        return self.edited[path] if path in self.edited else self.read_current(path)

    def closures(self) -> dict[str, Closure]:
        self.roots = [
            root
            for root in kustomization_dirs(self.paths)
            if any(
                self._included(path)
                for path in (join(root, name) for name in KUSTOMIZATION_FILES)
                if path in self.paths
            )
        ]
        for root in self.roots:
            try:
                plan = closure(root, self.paths, self.read)
            except (BadKustomization, ReadError) as error:
                self.failed[root] = f"not read: {error}"
                continue
            if plan.remote:
                self.failed[root] = f"remote base {plan.remote[0]} not fetched"
                continue
            self.plans[root] = plan
        return dict(self.plans)

    def rendered(self, plan: Closure, read: Read) -> Mapping[str, str]:
        """The render of `plan` over the files `read` gives; RenderFailed as the engine said."""
        files = {path: read(path) for path in plan.all_files}
        digest = hashlib.sha256()
        for path, data in sorted(files.items()):
            digest.update(f"{path}\0{len(data)}\0".encode())
            digest.update(data)
        key = (plan.root, digest.hexdigest())
        if key not in self.cache:
            try:
                self.cache[key] = dict(self.render(files, plan.root))
            except RenderFailed as error:
                self.cache[key] = str(error)
        result = self.cache[key]
        if isinstance(result, str):
            raise RenderFailed(result)
        return result

    def check(self, root: str, plan: Closure) -> None:
        try:
            self.before[root] = self.rendered(plan, self.original)
        except (RenderFailed, ReadError) as error:
            self.failed[root] = f"does not render: {error}"
            return
        try:
            current = self.rendered(plan, self.read)
        except (RenderFailed, ReadError) as error:
            self.failed[root] = f"does not render after the manifest fixes: {error}"
            return
        sites = self._sites(plan)
        chosen: list[tuple[Site, Finding]] = []
        for item in self._non_always(current):
            rendered, finding = item
            site = _decider(sites, rendered, finding.current)
            if site is None or self._plain_reports(site) or not self._included(site.path):
                continue  # its base resource's: the manifest scan reports it
            once = (site.path, site.position(), rendered.container)
            if once in self.reported:
                continue  # a patch shared by several kustomizations: reported for the first
            self.reported.add(once)
            own = self._finding(root, site, finding)
            exemption = DECLINED if own.fingerprint in self.declined else self._ignored(site)
            if exemption is not None:
                self.exempted.setdefault(site.path, []).append(Exempted(own, exemption))
                continue
            self.findings.setdefault(site.path, []).append(own)
            chosen.append((site, own))
        if self.fix and chosen:
            self._fix(root, chosen)

    def _sites(self, plan: Closure) -> list[Site]:
        sites: list[Site] = []
        for path in plan.kustomizations:
            try:
                body = decode(self.read(path)).removeprefix(BOM)
                sites.extend(policy_sites(path, body, self.read))
            except (Unparseable, ReadError):
                continue
        return sites

    def _non_always(self, rendered: Mapping[str, str]) -> list[tuple[Rendered, Finding]]:
        found: list[tuple[Rendered, Finding]] = []
        for name, text in sorted(rendered.items()):
            try:
                detection = detect(name, parse(text), self.config)
            except Unparseable:
                continue
            for target in detection.targets:
                place = target.places[0] if target.places else target.paths[0]
                container = scalar(get(target.container, "name"))
                item = Rendered(target.finding.kind, target.finding.name, place, container)
                found.append((item, target.finding))
        return found

    def _plain_reports(self, site: Site) -> bool:
        """The manifest scan already reports the container at this site (a strategic-merge
        patch file with its own image): no second finding."""
        if site.block is not None or not site.strategic:
            return False
        report = check_manifest(site.path, self.read(site.path), self.config)
        line, _ = site.position()
        known = [*report.findings, *(e.finding for e in report.exempted)]
        return any(finding.line == line for finding in known)

    def _finding(self, root: str, site: Site, rendered: Finding) -> Finding:
        line, column = site.position()
        return replace(
            rendered,
            path=site.path,
            line=line,
            column=column,
            document=site.document,
            source=site.source,
            rendered_in=display(root),
            fingerprint=fingerprint(
                site.path,
                display(root),
                rendered.kind,
                rendered.namespace,
                rendered.name,
                rendered.container_list,
                rendered.container,
                site.source.value,
            ),
        )

    def _fix(self, root: str, chosen: list[tuple[Site, Finding]]) -> None:
        by_file: dict[str, list[tuple[Site, Edit]]] = {}
        for site, finding in chosen:
            try:
                by_file.setdefault(site.path, []).append((site, site.edit()))
            except Unfixable as error:
                self.unfixable.setdefault(site.path, []).append((finding, str(error)))
        changed: dict[str, bytes] = {}
        for path, edits in by_file.items():
            try:
                changed[path] = _patched(path, self.read(path), edits)
            except (Unfixable, guard.GuardFailure, Unparseable, ValueError) as error:
                self._refuse(root, chosen, path, f"left unchanged: {error}")
        if changed:
            reason = self._verify_edits(changed)
            if reason is None:
                self.edited.update(changed)
            else:
                self.dropped[root] = reason
                for path in changed:
                    self._refuse(root, chosen, path, f"fix dropped: {reason}")

    def _refuse(
        self, root: str, chosen: list[tuple[Site, Finding]], path: str, reason: str
    ) -> None:
        for site, finding in chosen:
            if site.path == path:
                self.unfixable.setdefault(path, []).append((finding, reason))

    def _verify_edits(self, changed: Mapping[str, bytes]) -> str | None:
        """Re-render every kustomization that reads a changed file; the reason to refuse."""

        def read(path: str) -> bytes:
            return changed[path] if path in changed else self.read(path)

        for other, plan in self.plans.items():
            if other not in self.before or not set(changed) & set(plan.all_files):
                continue
            try:
                after = self.rendered(plan, read)
            except (RenderFailed, ReadError) as error:
                return f"{display(other)} no longer renders: {error}"
            why = difference(self.before[other], after, self.config)
            if why is not None:
                return f"{display(other)}: {why}"
        return None

    def verify(self, root: str, plan: Closure | None) -> Verification:
        if root in self.failed or plan is None:
            return Verification(KIND, display(root), False, self.failed.get(root))
        before = self.before[root]
        count = len(rendered_findings(before, self.config))
        try:
            after = self.rendered(plan, self.read)
        except (RenderFailed, ReadError) as error:
            reason = f"does not render after the fix: {error}"
            return Verification(KIND, display(root), False, reason, count)
        left = len(rendered_findings(after, self.config))
        why = difference(before, after, self.config)
        if why is not None:
            return Verification(KIND, display(root), False, why, count, left)
        return Verification(KIND, display(root), True, self.dropped.get(root), count, left)

    def reports(self) -> list[FileReport]:
        paths = sorted({*self.findings, *self.exempted, *self.unfixable, *self.edited})
        return [
            FileReport(
                path,
                tuple(self.findings.get(path, ())),
                tuple(self.exempted.get(path, ())),
                fixed=self.edited.get(path),
                unfixable=tuple(self.unfixable.get(path, ())),
            )
            for path in paths
        ]


def _decider(sites: list[Site], rendered: Rendered, current: str | None) -> Site | None:
    """The last patch that writes this container's policy or the whole container, if what it
    writes is what was rendered; None when the base resource decides."""
    deciding = [site for site in sites if site.decides and site.matches(rendered)]
    if not deciding:
        return None
    last = deciding[-1]
    return last if last.current == current and last.current != ALWAYS else None


def _patched(path: str, data: bytes, edits: list[tuple[Site, Edit]]) -> bytes:
    """The file with the edits applied, guarded: patch files as YAML, inline patches through the
    text of their block (the kustomization itself may change nowhere else)."""
    text = decode(data)
    body = text.removeprefix(BOM)
    new_body = apply(body, [edit for _, edit in edits])
    inline = [site for site, _ in edits if site.block is not None]
    if inline:
        _guard_inline(body, new_body, inline)
    else:
        located = [(site.document, site.located) for site, _ in edits]
        guard.check(body, new_body, containers=(), edited=located, json_file=is_json(path, body))
    new_text = (BOM if text.startswith(BOM) else "") + new_body
    guard.check_file(text, new_text)
    return new_text.encode(encoding_of(data))


def _guard_inline(body: str, new_body: str, sites: list[Site]) -> None:
    """The kustomization reads the same but for the edited inline patches, and each of those,
    parsed on its own, changed only where a site meant it to."""
    try:
        old = yaml.load(body, Loader=yaml.CSafeLoader)
        new = yaml.load(new_body, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as error:
        raise guard.GuardFailure(f"the kustomization no longer parses: {error}") from None
    for before, after in _changed_strings(old, new):
        edited = [(site.document, site.located) for site in sites if site.text == before]
        if not edited:
            raise guard.GuardFailure("the kustomization changed outside its inline patches")
        guard.check(before, after, containers=(), edited=edited, json_file=is_json("", before))


def _changed_strings(old: Any, new: Any) -> Iterator[tuple[str, str]]:
    """The pairs of strings that differ between two loaded documents; GuardFailure when
    anything else does."""
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        for key in old:
            yield from _changed_strings(old[key], new[key])
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for a, b in zip(old, new, strict=True):
            yield from _changed_strings(a, b)
    elif isinstance(old, str) and isinstance(new, str):
        if old != new:
            yield old, new
    elif type(old) is not type(new) or old != new:
        raise guard.GuardFailure("the kustomization changed outside its inline patches")
