"""Helm charts: templates are never parsed; the values they feed into `imagePullPolicy` are
checked and fixed in the chart's values.yaml instead."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from yaml.nodes import Node

from workers.core import guard
from workers.core.detect import ALWAYS, DECLINED
from workers.core.findings import Exempted, FileReport, Finding, Source, fingerprint
from workers.core.patch import Unfixable, apply, replace_value
from workers.core.yamldoc import BOM, Unparseable, decode, encoding_of, get, parse, scalar

# `imagePullPolicy: {{ .Values.a.b }}`, `{{ .Values.a.b | default "X" | quote }}`,
# `{{ default "X" .Values.a.b }}`, `"{{ $.Values.a.b }}"`, with or without `{{-`/`-}}`.
POLICY_TEMPLATE = re.compile(r"imagePullPolicy\s*:\s*[\"']?\{\{-?(?P<expr>[^}]*)\}\}")
VALUES_REF = re.compile(r"\$?\.Values\.(?P<path>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")
DEFAULT_LITERAL = re.compile(r"default\s+[\"'](?P<value>[^\"']*)[\"']")
HELM_LIST = "values"


@dataclass(frozen=True)
class ValueRef:
    path: str  # dotted key path under .Values
    default: str | None  # the template's `default "..."`, used when the key is absent


def value_refs(template: str) -> list[ValueRef]:
    """The `.Values` keys that a template feeds into `imagePullPolicy`."""
    refs: list[ValueRef] = []
    for match in POLICY_TEMPLATE.finditer(template):
        expr = match.group("expr")
        ref = VALUES_REF.search(expr)
        if ref:
            default = DEFAULT_LITERAL.search(expr)
            refs.append(ValueRef(ref.group("path"), default.group("value") if default else None))
    return refs


def check_values(
    chart: str,
    values_path: str,
    data: bytes,
    refs: Iterable[ValueRef],
    *,
    fix: bool,
    declined: frozenset[str] = frozenset(),
) -> FileReport:
    """Findings (and, with `fix`, the patched bytes) for one chart's values.yaml."""
    findings: dict[str, tuple[Finding, Node | None]] = {}
    exempted: list[Exempted] = []
    try:
        parsed = parse(decode(data), split=False)
        root = next((document for _, _, document in parsed.documents()), None)
        for ref in refs:
            if ref.path in findings:
                continue
            node = get(root, *ref.path.split("."))
            current = scalar(node)
            effective = current if node is not None else ref.default
            if effective == ALWAYS:
                continue
            finding = _finding(chart, values_path, ref.path, node, root, current)
            if finding.fingerprint in declined:
                exempted.append(Exempted(finding, DECLINED))
            else:
                findings[ref.path] = (finding, node)
    except Unparseable as error:
        return FileReport(values_path, skipped=str(error))
    report = FileReport(
        values_path, tuple(finding for finding, _ in findings.values()), tuple(exempted)
    )
    if not fix or not findings:
        return report
    return _fix(report, decode(data), parsed.body, parsed.bom, findings, encoding_of(data))


def _finding(
    chart: str,
    values_path: str,
    key: str,
    node: Node | None,
    root: Node | None,
    current: str | None,
) -> Finding:
    parent = key.rsplit(".", 1)[0].split(".") if "." in key else []
    repository = scalar(get(root, *parent, "repository"))
    tag = scalar(get(root, *parent, "tag"))
    image = f"{repository}:{tag}" if repository and tag else repository
    mark = node.start_mark if node is not None else None
    return Finding(
        path=values_path,
        line=mark.line + 1 if mark else 1,
        column=mark.column + 1 if mark else 1,
        document=0,
        kind="HelmChart",
        name=chart,
        namespace=None,
        container_list=HELM_LIST,
        container=key,
        image=image,
        current=current,
        changes_runtime=True,
        fingerprint=fingerprint(values_path, "helm-values", key),
        source=Source.HELM_VALUES,
        value_path=key,
    )


def _fix(
    report: FileReport,
    original: str,  # the decoded file, BOM included, for the whole-file check
    body: str,
    bom: bool,
    findings: Mapping[str, tuple[Finding, Node | None]],
    codec: str,
) -> FileReport:
    edits = []
    unfixable: list[tuple[Finding, str]] = []
    for key, (finding, node) in findings.items():
        if node is None:
            unfixable.append((finding, f"{key} is not set in values.yaml; add `{key}: Always`"))
            continue
        try:
            edits.append(replace_value(node, body))
        except Unfixable as error:
            unfixable.append((finding, str(error)))
    if not edits:
        return replace(report, unfixable=tuple(unfixable))
    edited = [(0, tuple(key.split("."))) for key, (_, node) in findings.items() if node]
    try:
        new_body = apply(body, edits)
        guard.check(body, new_body, containers=(), edited=edited, json_file=False)
        text = (BOM if bom else "") + new_body
        guard.check_file(original, text)
    except (guard.GuardFailure, Unfixable) as error:  # Unfixable: overlapping edits
        return replace(report, skipped=f"left unchanged: {error}", unfixable=tuple(unfixable))
    fixed = text.encode(codec)  # the file's own encoding and BOM
    return replace(report, fixed=fixed, unfixable=tuple(unfixable))
