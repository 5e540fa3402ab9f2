"""Findings for one parsed manifest file: which containers lack `imagePullPolicy: Always`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from yaml.nodes import MappingNode, Node, ScalarNode

from workers.config.model import Config, DigestPolicy, NeverPolicy
from workers.core.exemptions import annotation_exemption, config_exemption, line_ignored
from workers.core.findings import Exempted, Finding, fingerprint
from workers.core.images import defaults_to_always, parse_image
from workers.core.workloads import Container, Path, Workload, workloads
from workers.core.yamldoc import Chunk, DuplicateKey, Entry, ParsedText, entries, scalar

POLICY_KEY = "imagePullPolicy"
ALWAYS = "Always"
NEVER = "Never"


@dataclass(frozen=True)
class Target:
    """A finding plus the nodes the patcher needs to fix it."""

    finding: Finding
    chunk: Chunk  # the stretch of text the nodes' marks are relative to
    container: MappingNode
    policy: Entry | None  # effective imagePullPolicy entry (possibly written in a merge source)
    image: Entry | None
    paths: tuple[Path, ...]  # every place (document-relative) where this container appears


@dataclass
class Detection:
    findings: list[Finding] = field(default_factory=list)
    exempted: list[Exempted] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


DECLINED = "declined: a pull request proposing this fix was closed unmerged"


def detect(
    path: str, parsed: ParsedText, config: Config, declined: frozenset[str] = frozenset()
) -> Detection:
    """Raises Unparseable for duplicate keys on the way to a container.

    `declined` holds fingerprints users turned down: reported as exempted, never patched."""
    result = Detection()
    check_comments = "pullpolicy" in parsed.body
    for chunk, index, document in parsed.documents():
        lines = chunk.text.splitlines() if check_comments else None
        seen: dict[int, int] = {}  # container node id -> index into result.targets
        try:
            found = [(w, c) for w in workloads(document) for c in w.containers]
            for workload, container in found:
                if not getattr(config.rules, container.switch):
                    continue
                known = seen.get(id(container.node))
                if known is not None:  # the same container reached again through an alias
                    target = result.targets[known]
                    paths = (*target.paths, container.path)
                    result.targets[known] = replace(target, paths=paths)
                    continue
                where = _Where(path, chunk, index, lines, declined)
                outcome = _judge(where, workload, container, config)
                if isinstance(outcome, Exempted):
                    result.exempted.append(outcome)
                elif isinstance(outcome, Target):
                    seen[id(container.node)] = len(result.targets)
                    result.targets.append(outcome)
                    result.findings.append(outcome.finding)
        except DuplicateKey as error:
            raise DuplicateKey(error.name, error.key, chunk.line) from None
    return result


@dataclass(frozen=True)
class _Where:
    path: str
    chunk: Chunk
    document: int
    lines: list[str] | None  # the chunk's lines, when the file mentions pullpolicy at all
    declined: frozenset[str]


def _judge(
    where: _Where, workload: Workload, container: Container, config: Config
) -> Target | Exempted | None:
    fields = entries(container.node)
    image_entry = fields.get("image")
    if image_entry is None:
        return None  # a patch fragment (kustomize strategic merge): nothing to judge
    policy_entry = fields.get(POLICY_KEY)
    current = _current(policy_entry)
    if current == ALWAYS:
        return None
    image = scalar(image_entry.value)
    if current is None and not config.rules.explicit and defaults_to_always(image):
        return None
    name = scalar(fields["name"].value) if "name" in fields else None
    container_name = name or f"#{container.index if container.index is not None else 0}"
    anchor = policy_entry.value if policy_entry is not None else image_entry.key
    path, document = where.path, where.document
    finding = Finding(
        path=path,
        line=where.chunk.line + anchor.start_mark.line + 1,
        column=anchor.start_mark.column + 1,
        document=document,
        kind=workload.kind,
        name=workload.name,
        namespace=workload.namespace,
        container_list=container.list_name,
        container=container_name,
        image=image,
        current=current,
        changes_runtime=current not in (None, "") or not defaults_to_always(image),
        fingerprint=fingerprint(
            path,
            workload.kind,
            workload.namespace,
            workload.name or f"document {document}",
            _path_text(workload.path),
            container.list_name,
            container_name,
        ),
    )
    reason = _exemption(finding, workload, container, image_entry, config, where.lines)
    if reason is None and finding.fingerprint in where.declined:
        reason = DECLINED
    if reason is not None:
        return Exempted(finding, reason)
    paths = (container.path,)
    return Target(finding, where.chunk, container.node, policy_entry, image_entry, paths)


def _current(policy: Entry | None) -> str | None:
    if policy is None:
        return None
    if isinstance(policy.value, ScalarNode):
        return scalar(policy.value)  # None for null / `~`
    return f"<{type(policy.value).__name__.removesuffix('Node').lower()}>"


def _exemption(
    finding: Finding,
    workload: Workload,
    container: Container,
    image: Entry,
    config: Config,
    lines: list[str] | None,
) -> str | None:
    if lines is not None and _comment_ignored(lines, container.node, image.key):
        return "comment # pullpolicy: ignore"
    reason = annotation_exemption(workload.annotations) or annotation_exemption(
        dict(container.pod_annotations)
    )
    if reason:
        return reason
    reason = config_exemption(
        config.exempt,
        kind=finding.kind,
        namespace=finding.namespace,
        container=finding.container,
        image=finding.image,
    )
    if reason:
        return reason
    if finding.current == NEVER and config.rules.never == NeverPolicy.KEEP:
        return "rules.never: keep"
    if (
        config.rules.digests == DigestPolicy.EXEMPT
        and finding.image
        and parse_image(finding.image).digest
    ):
        return "rules.digests: exempt"
    return None


def _comment_ignored(lines: list[str], container: Node, image_key: Node) -> bool:
    start = container.start_mark.line
    own_lines = {start, image_key.start_mark.line}
    if any(number < len(lines) and line_ignored(lines[number]) for number in own_lines):
        return True
    # The line above counts when it holds only a comment (or only this item's `-` and a
    # comment), never when it is another container's last line.
    above = lines[start - 1].lstrip() if 0 < start <= len(lines) else ""
    return above.lstrip("- ").startswith("#") and line_ignored(above)


def _path_text(path: Path) -> str:
    return "/".join(str(part) for part in path)
