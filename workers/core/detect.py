"""Findings for one parsed manifest file: which containers lack `imagePullPolicy: Always`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from yaml.nodes import MappingNode, Node, ScalarNode

from workers.config.model import Config, DigestPolicy, NeverPolicy
from workers.core.exemptions import annotation_exemption, config_exemption, line_ignored
from workers.core.findings import Exempted, Finding, fingerprint
from workers.core.images import defaults_to_always, parse_image
from workers.core.inheritance import line_owner, merge_key, merge_sources, policy_sources
from workers.core.workloads import Container, Path, Workload, workloads
from workers.core.yamldoc import Chunk, DuplicateKey, Entry, ParsedText, entries, get, scalar

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
    # Where the fixed policy is read, for each place (document-relative) the container
    # appears: the container's path, or its stepTemplate's when the policy is written there.
    paths: tuple[Path, ...]
    defaults: MappingNode | None = None  # Tekton stepTemplate the container inherits from
    own_line: bool = False  # write the policy on the container, not in a shared source
    blocked: str | None = None  # why no edit can fix it without changing another container
    places: tuple[Path, ...] = ()  # every place (document-relative) the container appears
    covered: bool = False  # inherits the line another target's fix writes: needs none itself


@dataclass
class Detection:
    findings: list[Finding] = field(default_factory=list)
    exempted: list[Exempted] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # workloads with no checkable containers


DECLINED = (
    "declined: a pull request proposing this fix was closed unmerged, or a person declined it "
    "in the review of a pull request that merged"
)


def detect(
    path: str, parsed: ParsedText, config: Config, declined: frozenset[str] = frozenset()
) -> Detection:
    """Raises Unparseable for duplicate keys on the way to a container.

    `declined` holds fingerprints users turned down: reported as exempted, never patched."""
    result = Detection()
    check_comments = "pullpolicy" in parsed.body
    lines: list[str] | None = None
    lines_of: Chunk | None = None
    for chunk, index, document in parsed.documents():
        if check_comments and lines_of is not chunk:  # once per chunk, not per document
            lines, lines_of = chunk.text.splitlines(), chunk
        seen: dict[int, int] = {}  # container node id -> index into result.targets
        first_target = len(result.targets)
        kept: list[Container] = []  # containers a fix must not change: exempt or not checked
        try:
            objects = list(workloads(document))
            result.malformed.extend(
                f"document {index + 1}: {w.kind}/{w.name}: {problem}"
                for w in objects
                for problem in w.problems
            )
            found = [(w, c) for w in objects for c in w.containers]
            for workload, container in found:
                if not getattr(config.rules, container.switch):
                    kept.append(container)
                    continue
                known = seen.get(id(container.node))
                if known is not None:  # the same container reached again through an alias
                    target = result.targets[known]
                    read_at = _policy_path(container, target.policy, target.image)
                    paths = (*target.paths, read_at)
                    places = (*target.places, container.path)
                    result.targets[known] = replace(target, paths=paths, places=places)
                    continue
                where = _Where(path, chunk, index, lines, declined)
                outcome = _judge(where, workload, container, config)
                if isinstance(outcome, Exempted):
                    result.exempted.append(outcome)
                    kept.append(container)
                elif isinstance(outcome, Target):
                    seen[id(container.node)] = len(result.targets)
                    result.targets.append(outcome)
                    result.findings.append(outcome.finding)
            mine = result.targets[first_target:]
            result.targets[first_target:] = _share_lines(_spare(mine, kept) if kept else mine)
        except DuplicateKey as error:
            raise DuplicateKey(error.name, error.key, chunk.line) from None
    return result


def _spare(targets: list[Target], kept: list[Container]) -> list[Target]:
    """Keep fixes away from exempt containers that share a source with a finding.

    A fix never changes an exempt container. When the policy a finding inherits (through
    `<<` or a stepTemplate) is also the exempt container's, the finding gets its own line
    instead; when its own line would be inherited by the exempt container, it is blocked."""
    held_values: dict[int, str] = {}  # policy value node -> exempt container's name
    held_missing: list[tuple[Container, list[MappingNode]]] = []  # policy unset: who reaches
    for container in kept:
        fields = _effective_fields(container)
        if POLICY_KEY in fields:
            held_values.setdefault(id(fields[POLICY_KEY].value), display_name(container))
        elif "image" in fields:
            sources = [container.node, *policy_sources(container.node, container.defaults)]
            held_missing.append((container, sources))

    def reached(mapping: MappingNode) -> str | None:
        for container, sources in held_missing:
            if any(source is mapping for source in sources):
                return display_name(container)
        return None

    spared: list[Target] = []
    for target in targets:
        if target.policy is not None:
            other = held_values.get(id(target.policy.value))
            if other is not None and target.policy.owner is target.container:
                why = f"exempt container '{other}' inherits this imagePullPolicy"
                target = replace(target, blocked=why)
            elif other is not None:
                target = replace(target, own_line=True, paths=target.places)
        elif target.image is not None:
            owner = line_owner(target.container, target.image, target.defaults)
            other = reached(owner)
            if other is not None and owner is not target.container:
                target = replace(target, own_line=True, paths=target.places)
                owner = target.container
                other = reached(owner)
            if other is not None:
                why = f"exempt container '{other}' would inherit the new imagePullPolicy"
                target = replace(target, blocked=why)
        if target.own_line and not target.blocked and not _has_own_place(target):
            why = (
                "its image and policy come from a stepTemplate shared with an exempt step, and "
                "it has no image line of its own to add imagePullPolicy beside"
            )
            target = replace(target, blocked=why)
        spared.append(target)
    return spared


def _has_own_place(target: Target) -> bool:
    """A line can go in the container itself: beside its own image or its merge key."""
    own_image = target.image is not None and target.image.owner is target.container
    return own_image or merge_key(target.container) is not None


def _share_lines(targets: list[Target]) -> list[Target]:
    """Mark the findings whose missing policy another fix already supplies: a container that
    merges (`<<`) a container getting a line, or a step whose stepTemplate gets one."""
    lined: set[int] = set()  # mappings that will get an imagePullPolicy line
    result = list(targets)
    missing = [
        (index, target, line_owner(target.container, image, target.defaults, own=target.own_line))
        for index, target in enumerate(targets)
        if target.policy is None and (image := target.image) is not None and not target.blocked
    ]
    # Lines into a stepTemplate first (shared by every step); then text order, because a
    # merge source (an anchor) is always written before the mappings that merge it.
    missing.sort(
        key=lambda item: (item[2] is item[1].container, item[1].container.start_mark.index)
    )
    for index, target, owner in missing:
        sources = policy_sources(target.container, target.defaults)
        covering = next((source for source in sources if id(source) in lined), None)
        if covering is None:
            lined.add(id(owner))
            continue
        paths = target.paths
        if not any(covering is source for source in merge_sources(target.container)):
            paths = tuple(_template_path(target, place) for place in target.places)
        result[index] = replace(target, covered=True, paths=paths)
    return result


def _template_path(target: Target, place: Path) -> Path:
    """The stepTemplate path next to a step at `place` (…/steps/N → …/stepTemplate)."""
    return (*place[:-2], "stepTemplate") if target.defaults is not None else place


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
    fields = _effective_fields(container)
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
    own_name = _own_name(container)
    container_name = display_name(container)
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
    if reason is None and own_name != container_name:
        # `exempt.containers` globs written for the container's own name keep matching.
        reason = config_exemption(
            config.exempt, kind=workload.kind, namespace=None, container=own_name, image=None
        )
    if reason is None and finding.fingerprint in where.declined:
        reason = DECLINED
    if reason is not None:
        return Exempted(finding, reason)
    return Target(
        finding,
        where.chunk,
        container.node,
        policy_entry,
        image_entry,
        (_policy_path(container, policy_entry, image_entry),),
        defaults=container.defaults,
        places=(container.path,),
    )


def _effective_fields(container: Container) -> dict[str, Entry]:
    """The container's keys after `<<` merges, then Tekton's stepTemplate for what is unset."""
    fields = entries(container.node)
    if container.defaults is not None:
        for name, entry in entries(container.defaults).items():
            if name in (POLICY_KEY, "image"):
                fields.setdefault(name, entry)
    return fields


def _policy_path(container: Container, policy: Entry | None, image: Entry | None) -> Path:
    """Where the fixed policy will be read: a step whose policy is (or, written beside an
    inherited image, will be) in its stepTemplate reads it there."""
    template, template_path = container.defaults, container.defaults_path
    if template is None or template_path is None:
        return container.path
    if policy is not None:
        in_template = [template, *merge_sources(template)]
        return template_path if any(policy.owner is m for m in in_template) else container.path
    if image is not None and line_owner(container.node, image, template) is template:
        return template_path
    return container.path


def _own_name(container: Container) -> str:
    name = scalar(get(container.node, "name"))
    return name or f"#{container.index if container.index is not None else 0}"


def display_name(container: Container) -> str:
    """How reports name a container: Argo's `container`/`script` by their template; a
    container of a nested pod spec (pipeline task, worker group) as `owner/name`."""
    if container.index is None and container.owner:
        return container.owner
    own = _own_name(container)
    return f"{container.owner}/{own}" if container.owner else own


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
