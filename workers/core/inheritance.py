"""Where a container's pull policy is inherited from, and which mapping a new line goes in.

A container mapping can take keys from others: YAML merge keys (`<<: *base`) and Tekton's
`stepTemplate`, whose fields a step gets when it leaves them unset. A fix decides on the
effective value and writes where it is physically written (FIDELITY.md, convention 7); these
helpers say where that is.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workers.core.yamldoc import MERGE_TAG, Entry

MAX_SOURCES = 10_000  # merge chains past this are not real manifests (alias bombs are refused)


def merge_key(node: MappingNode) -> tuple[ScalarNode, Node] | None:
    """The first `<<` entry written in this mapping, if any."""
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.tag == MERGE_TAG:
            return key, value
    return None


def merge_sources(node: MappingNode) -> list[MappingNode]:
    """Every mapping `node` takes keys from through `<<`, nearest and earliest first."""
    found: list[MappingNode] = []
    seen = {id(node)}
    pending: list[MappingNode] = [node]
    while pending and len(found) < MAX_SOURCES:
        current = pending.pop(0)
        for key, value in current.value:
            if not (isinstance(key, ScalarNode) and key.tag == MERGE_TAG):
                continue
            for source in value.value if isinstance(value, SequenceNode) else [value]:
                if isinstance(source, MappingNode) and id(source) not in seen:
                    seen.add(id(source))
                    found.append(source)
                    pending.append(source)
    return found


def policy_sources(container: MappingNode, defaults: MappingNode | None) -> list[MappingNode]:
    """The mappings, besides the container itself, whose `imagePullPolicy` it would inherit."""
    sources = merge_sources(container)
    if defaults is not None:
        sources += [defaults, *merge_sources(defaults)]
    return sources


def line_owner(
    container: MappingNode, image: Entry, defaults: MappingNode | None, *, own: bool = False
) -> MappingNode:
    """The mapping a missing `imagePullPolicy` line goes in: the container when its image or
    a merge key is written in it (or `own` asks for it); else the stepTemplate it takes its
    image from, so one line serves every step that inherits it."""
    if own or image.owner is container or merge_key(container) is not None or defaults is None:
        return container
    return defaults
