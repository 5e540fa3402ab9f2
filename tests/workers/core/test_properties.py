"""Property tests: generated manifests, written as text in many real-world styles, fixed.

The generator builds a small model (mappings, sequences, scalar tokens with their quotes and
comments, blank and comment lines) and renders it itself — YAML with 2/4-space indentation,
indented or flush sequences, flow containers, several documents, CRLF, BOM, no final newline;
or JSON, pretty or on one line — because dumping with a YAML library would hide exactly the
formatting the fixer must preserve. The same model with the fix applied renders the expected
output, and an independent parser (ruamel.yaml's pure-Python loader, or `json`) checks meaning.
"""

from __future__ import annotations

import json
import re
from copy import deepcopy
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.corpus import unexpected_changes
from workers.config.model import Config
from workers.core.manifest import check_manifest

POLICY_KEY = "imagePullPolicy"
ALWAYS = "Always"
BOM = "\ufeff"
IGNORE_COMMENT = "  # pullpolicy: ignore"
POLARIS_EXEMPT = "polaris.fairwinds.com/exempt"

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- The model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scalar:
    token: str  # exactly as written, quotes included; "" is an empty value
    comment: str = ""  # written after the token, e.g. "  # note" (YAML only)


@dataclass(frozen=True)
class Mapping:
    entries: tuple[Entry, ...]
    flow: bool = False
    comment: str = ""  # after a flow mapping that sits on its own sequence line


@dataclass(frozen=True)
class Sequence:
    items: tuple[Value, ...]
    flow: bool = False


Value = Scalar | Mapping | Sequence


@dataclass(frozen=True)
class Entry:
    key: str
    value: Value
    before: tuple[str, ...] = ()  # lines above the entry: "" (blank) or comment text


Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Container:
    """Where a generated container sits, and what the fix should do to it."""

    document: int
    path: Path
    exempt: bool
    compliant: bool  # already `Always`: left alone


@dataclass(frozen=True)
class Style:
    json: bool
    indent: int  # YAML block indentation, or JSON indentation
    indent_sequences: bool  # YAML: `- ` indented under its key, or flush with it
    dash_width: int  # YAML: 2 for `- key`, 4 for `-   key`
    compact: bool  # JSON on one line
    eol: str
    final_newline: bool
    bom: bool
    leading_marker: bool  # YAML: `---` before the first document
    header: str | None  # YAML: a comment line before everything
    path: str


@dataclass(frozen=True)
class Manifest:
    documents: tuple[Mapping, ...]
    containers: tuple[Container, ...]
    style: Style


# --- Rendering ------------------------------------------------------------------------------


def render(manifest: Manifest) -> str:
    style = manifest.style
    if style.json:
        (document,) = manifest.documents
        lines = _json_lines(document, 0, style) if not style.compact else [_json_flow(document)]
    else:
        lines = [style.header] if style.header is not None else []
        for index, document in enumerate(manifest.documents):
            if index or style.leading_marker:
                lines.append("---")
            _yaml_mapping(document, 0, lines, style, first_prefix=None)
    text = style.eol.join(lines) + (style.eol if style.final_newline else "")
    return (BOM if style.bom else "") + text


def _yaml_mapping(
    mapping: Mapping, column: int, lines: list[str], style: Style, first_prefix: str | None
) -> None:
    pad = " " * column
    for index, entry in enumerate(mapping.entries):
        prefix = first_prefix if index == 0 and first_prefix is not None else pad
        if not (index == 0 and first_prefix is not None):  # above a `- ` line: see _yaml_seq
            lines.extend(f"{pad}{text}" if text else "" for text in entry.before)
        value = entry.value
        if isinstance(value, Scalar):
            separator = ": " if value.token else ":"
            lines.append(f"{prefix}{entry.key}{separator}{value.token}{value.comment}")
        elif value.flow:
            lines.append(f"{prefix}{entry.key}: {_yaml_flow(value)}")
        elif isinstance(value, Mapping):
            lines.append(f"{prefix}{entry.key}:")
            _yaml_mapping(value, column + style.indent, lines, style, first_prefix=None)
        else:
            lines.append(f"{prefix}{entry.key}:")
            inner = column + style.indent if style.indent_sequences else column
            _yaml_sequence(value, inner, lines, style)


def _yaml_sequence(sequence: Sequence, column: int, lines: list[str], style: Style) -> None:
    pad = " " * column
    dash = "-".ljust(style.dash_width)
    for item in sequence.items:
        if isinstance(item, Scalar):
            lines.append(f"{pad}{dash}{item.token}{item.comment}")
        elif isinstance(item, Mapping) and item.flow:
            lines.append(f"{pad}{dash}{_yaml_flow(item)}{item.comment}")
        elif isinstance(item, Mapping):
            first = item.entries[0]
            lines.extend(f"{pad}{text}" if text else "" for text in first.before)
            _yaml_mapping(item, column + style.dash_width, lines, style, first_prefix=pad + dash)
        else:
            raise AssertionError("sequences of sequences are not generated")


def _yaml_flow(value: Value) -> str:
    if isinstance(value, Scalar):
        return value.token
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{e.key}: {_yaml_flow(e.value)}" for e in value.entries) + "}"
    return "[" + ", ".join(_yaml_flow(item) for item in value.items) + "]"


def _json_flow(value: Value) -> str:
    if isinstance(value, Scalar):
        return value.token
    if isinstance(value, Mapping):
        members = (f"{json.dumps(e.key)}: {_json_flow(e.value)}" for e in value.entries)
        return "{" + ", ".join(members) + "}"
    return "[" + ", ".join(_json_flow(item) for item in value.items) + "]"


def _json_lines(value: Value, column: int, style: Style) -> list[str]:
    """Pretty JSON: the first line carries no indentation (it follows a key or a comma)."""
    if isinstance(value, Scalar):
        return [value.token]
    if isinstance(value, Mapping):
        opening, closing = "{", "}"
        parts = [(f"{json.dumps(e.key)}: ", e.value) for e in value.entries]
    else:
        opening, closing = "[", "]"
        parts = [("", item) for item in value.items]
    if not parts:
        return [opening + closing]
    inner = " " * (column + style.indent)
    lines = [opening]
    for index, (head, child) in enumerate(parts):
        child_lines = _json_lines(child, column + style.indent, style)
        child_lines[0] = inner + head + child_lines[0]
        if index < len(parts) - 1:
            child_lines[-1] += ","
        lines.extend(child_lines)
    lines.append(" " * column + closing)
    return lines


# --- The fix, applied to the model: what the output must be ----------------------------------


def fixed(manifest: Manifest) -> Manifest:
    inserted = Scalar(json.dumps(ALWAYS) if manifest.style.json else ALWAYS)
    documents = list(manifest.documents)
    for container in manifest.containers:
        if not (container.exempt or container.compliant):
            document = documents[container.document]
            documents[container.document] = _fix_at(document, container.path, inserted)
    return replace(manifest, documents=tuple(documents))


def _fix_at(mapping: Mapping, path: Path, inserted: Scalar) -> Mapping:
    if not path:
        return _fix_container(mapping, inserted)
    key, rest = path[0], path[1:]
    entries = []
    for entry in mapping.entries:
        if entry.key == key:
            entry = replace(entry, value=_fix_in(entry.value, rest, inserted))
        entries.append(entry)
    return replace(mapping, entries=tuple(entries))


def _fix_in(value: Value, path: Path, inserted: Scalar) -> Value:
    if isinstance(value, Mapping):
        return _fix_at(value, path, inserted)
    assert isinstance(value, Sequence) and isinstance(path[0], int)
    items = list(value.items)
    item = items[path[0]]
    assert isinstance(item, Mapping)
    items[path[0]] = _fix_at(item, path[1:], inserted)
    return replace(value, items=tuple(items))


def _fix_container(container: Mapping, inserted: Scalar) -> Mapping:
    """Existing key: only the value token changes, quotes kept. Missing key: a new entry right
    after `image` (its comment stays on the image line)."""
    has_policy = any(entry.key == POLICY_KEY for entry in container.entries)
    entries: list[Entry] = []
    for entry in container.entries:
        if entry.key == POLICY_KEY:
            assert isinstance(entry.value, Scalar)
            token = entry.value.token
            quote = token[0] if token[:1] in ("'", '"') else ""
            entry = replace(entry, value=replace(entry.value, token=quote + ALWAYS + quote))
        entries.append(entry)
        if entry.key == "image" and not has_policy:
            entries.append(Entry(POLICY_KEY, inserted))
    return replace(container, entries=tuple(entries))


# --- Generating the model ---------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Plain text strategies: st.from_regex is much slower to draw from.
NAMES = st.builds(
    str.__add__,
    st.sampled_from(LETTERS),
    st.text(alphabet=LETTERS + "0123456789", max_size=7),
)
WORDS = st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=6), min_size=1, max_size=3).map(
    " ".join
)
DIGESTS = st.binary(min_size=32, max_size=32).map(lambda raw: "@sha256:" + raw.hex())
REGISTRIES = ("", "docker.io/", "ghcr.io/acme/", "localhost:5000/", "registry.example.com:443/t/")
TAGS = ("", ":latest", ":1.2.3", ":v2", ":1.0-alpine")
# None: no key. A missing key is the common case in real files, hence weighted up.
POLICY_VALUES = (None, None, None, "Always", "IfNotPresent", "Never", "always", "", "~", "null")
# JSON `null` is left out: it is a known core bug (see test_json_null_policy_is_fixed).
JSON_POLICY_VALUES = (None, None, "Always", "IfNotPresent", "Never", "always", "")
KINDS = {
    "Pod": ("v1", ("spec",)),
    "Deployment": ("apps/v1", ("spec", "template", "spec")),
    "StatefulSet": ("apps/v1", ("spec", "template", "spec")),
    "DaemonSet": ("apps/v1", ("spec", "template", "spec")),
    "Job": ("batch/v1", ("spec", "template", "spec")),
    "CronJob": ("batch/v1", ("spec", "jobTemplate", "spec", "template", "spec")),
}


@dataclass
class Drawing:
    """What one manifest draw needs to know while building: format and collected containers."""

    json: bool
    document: int = 0
    containers: list[Container] = field(default_factory=list)


def _string(draw: st.DrawFn, value: str, ctx: Drawing) -> str:
    """A string scalar in a random quoting style (JSON: always double quotes)."""
    if ctx.json:
        return json.dumps(value)
    style = draw(st.sampled_from(("plain", "single", "double")))
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return json.dumps(value)
    return value


def _comment(draw: st.DrawFn, ctx: Drawing, *, flow: bool = False) -> str:
    if ctx.json or flow or not draw(st.booleans()):
        return ""
    gap = draw(st.sampled_from((" ", "  ", "    ", "\t")))
    return f"{gap}# {draw(WORDS)}"


def _before(draw: st.DrawFn, ctx: Drawing, *, flow: bool = False) -> tuple[str, ...]:
    if ctx.json or flow:
        return ()
    choice = draw(st.sampled_from(("none", "none", "blank", "comment")))
    return {"none": (), "blank": ("",), "comment": (f"# {draw(WORDS)}",)}[choice]


def _entry(draw: st.DrawFn, ctx: Drawing, key: str, value: Value, *, flow: bool = False) -> Entry:
    return Entry(key, value, _before(draw, ctx, flow=flow))


def _scalar(draw: st.DrawFn, ctx: Drawing, token: str, *, flow: bool = False) -> Scalar:
    return Scalar(token, _comment(draw, ctx, flow=flow))


def _image(draw: st.DrawFn) -> str:
    image = draw(st.sampled_from(REGISTRIES)) + draw(NAMES) + draw(st.sampled_from(TAGS))
    if draw(st.integers(0, 4)) == 0:
        image += draw(DIGESTS)
    return image


def _policy_token(draw: st.DrawFn, ctx: Drawing, value: str, *, flow: bool) -> str:
    if ctx.json:
        return json.dumps(value)
    if value in ("~", "null"):
        return value
    if value == "":
        return draw(st.sampled_from(("''", '""') if flow else ("", "''", '""')))
    return _string(draw, value, ctx)


@st.composite
def container(
    draw: st.DrawFn, ctx: Drawing, path: Path, *, flow: bool, own_line: bool, exempt: bool
) -> Mapping:
    """One container; `own_line`: a flow container alone on its `- ` line (may carry a
    comment). Records where it sits and whether the fix must change it."""
    values = JSON_POLICY_VALUES if ctx.json else POLICY_VALUES
    policy = draw(st.sampled_from(values))
    ignored = not ctx.json and (own_line or not flow) and draw(st.integers(0, 7)) == 0
    image = _scalar(draw, ctx, _string(draw, _image(draw), ctx), flow=flow)
    if ignored and not flow:
        image = replace(image, comment=IGNORE_COMMENT)
    entries = [
        _entry(draw, ctx, "name", _scalar(draw, ctx, _string(draw, draw(NAMES), ctx), flow=flow)),
        _entry(draw, ctx, "image", image, flow=flow),
    ]
    if policy is not None:
        token = _policy_token(draw, ctx, policy, flow=flow)
        entries.append(_entry(draw, ctx, POLICY_KEY, _scalar(draw, ctx, token, flow=flow)))
    entries.extend(draw(_extras(ctx, flow=flow)))
    ordered = draw(st.permutations(entries))
    comment = ""  # only a flow container alone on its line can have one
    if flow and own_line:
        comment = IGNORE_COMMENT if ignored else _comment(draw, ctx)
    ctx.containers.append(Container(ctx.document, path, exempt or ignored, policy == ALWAYS))
    return Mapping(tuple(ordered), flow=flow, comment=comment)


@st.composite
def _extras(draw: st.DrawFn, ctx: Drawing, *, flow: bool) -> list[Entry]:
    extras: list[Entry] = []
    if draw(st.booleans()):
        args = tuple(
            Scalar(_string(draw, word, ctx))
            for word in draw(st.lists(NAMES, min_size=1, max_size=3))
        )
        extras.append(_entry(draw, ctx, "args", Sequence(args, flow=flow or draw(st.booleans()))))
    if not flow and draw(st.booleans()):
        port = Mapping((Entry("containerPort", Scalar(str(draw(st.integers(1, 65535))))),))
        extras.append(_entry(draw, ctx, "ports", Sequence((port,))))
    if not flow and draw(st.booleans()):
        cpu = Mapping((Entry("cpu", Scalar(_string(draw, "100m", ctx))),))
        extras.append(_entry(draw, ctx, "resources", Mapping((Entry("limits", cpu),))))
    return extras


@st.composite
def pod_spec(draw: st.DrawFn, ctx: Drawing, path: Path, *, exempt: bool) -> Mapping:
    entries: list[Entry] = []
    lists = [("containers", draw(st.integers(1, 3))), ("initContainers", draw(st.integers(0, 2)))]
    for list_name, count in lists:
        if not count:
            continue
        flow_style = "block" if ctx.json else draw(st.sampled_from(("block", "items", "list")))
        items = tuple(
            draw(
                container(
                    ctx,
                    (*path, list_name, index),
                    flow=flow_style != "block",
                    own_line=flow_style == "items",
                    exempt=exempt,
                )
            )
            for index in range(count)
        )
        entries.append(_entry(draw, ctx, list_name, Sequence(items, flow=flow_style == "list")))
    if draw(st.booleans()):  # an `Always` that is not a pull policy
        entries.append(_entry(draw, ctx, "restartPolicy", Scalar(_string(draw, "Always", ctx))))
    return Mapping(tuple(draw(st.permutations(entries))))


@st.composite
def workload(draw: st.DrawFn, ctx: Drawing, path: Path, *, in_list: bool = False) -> Mapping:
    kinds = sorted(KINDS) if in_list else [*sorted(KINDS), "List"]
    kind = draw(st.sampled_from(kinds))
    if kind == "List":
        count = draw(st.integers(1, 2))
        items = tuple(
            draw(workload(ctx, (*path, "items", index), in_list=True)) for index in range(count)
        )
        return Mapping(
            (
                Entry("apiVersion", Scalar(_string(draw, "v1", ctx))),
                Entry("kind", Scalar(_string(draw, "List", ctx))),
                Entry("items", Sequence(items)),
            )
        )
    api_version, spec_path = KINDS[kind]
    exempt = draw(st.integers(0, 7)) == 0
    metadata = [Entry("name", Scalar(_string(draw, draw(NAMES), ctx)))]
    if exempt:
        metadata.append(
            Entry("annotations", Mapping((Entry(POLARIS_EXEMPT, Scalar(json.dumps("true"))),)))
        )
    spec: Value = draw(pod_spec(ctx, (*path, *spec_path), exempt=exempt))
    for key in reversed(spec_path):
        spec = Mapping((Entry(key, spec),))
    assert isinstance(spec, Mapping)
    return Mapping(
        (
            Entry("apiVersion", Scalar(_string(draw, api_version, ctx))),
            Entry("kind", Scalar(_string(draw, kind, ctx))),
            _entry(draw, ctx, "metadata", Mapping(tuple(metadata))),
            *spec.entries,
        )
    )


def config_map(ctx: Drawing) -> Mapping:
    """Not a workload, though its text mentions containers and images."""
    text = json.dumps("containers: [{name: a, image: b, imagePullPolicy: Never}]")
    return Mapping(
        (
            Entry("apiVersion", Scalar(json.dumps("v1") if ctx.json else "v1")),
            Entry("kind", Scalar(json.dumps("ConfigMap") if ctx.json else "ConfigMap")),
            Entry("data", Mapping((Entry("pod", Scalar(text)),))),
        )
    )


@st.composite
def manifests(draw: st.DrawFn, *, json_format: bool) -> Manifest:
    ctx = Drawing(json=json_format)
    documents: list[Mapping] = []
    count = 1 if json_format else draw(st.integers(1, 3))
    for index in range(count):
        ctx.document = index
        negative = count > 1 and draw(st.integers(0, 4)) == 0
        documents.append(config_map(ctx) if negative else draw(workload(ctx, ())))
    indent = draw(st.sampled_from((2, 4)))
    style = Style(
        json=json_format,
        indent=indent,
        indent_sequences=draw(st.booleans()),
        dash_width=draw(st.sampled_from((2, 4))) if indent == 4 else 2,
        compact=json_format and draw(st.booleans()),
        eol=draw(st.sampled_from(("\n", "\r\n"))),
        final_newline=draw(st.integers(0, 3)) > 0,
        bom=draw(st.integers(0, 5)) == 0,
        leading_marker=draw(st.booleans()),
        header=f"# {draw(WORDS)}" if not json_format and draw(st.booleans()) else None,
        path=draw(
            st.sampled_from(("deploy/app.json", "deploy/app.yaml"))
            if json_format
            else st.sampled_from(("deploy/app.yaml", "app.yml"))
        ),
    )
    return Manifest(tuple(documents), tuple(ctx.containers), style)


# --- The properties ---------------------------------------------------------------------------

TAB_BEFORE_COMMENT = re.compile(r"\t(?=#)")


def load(text: str, *, json_format: bool) -> list[Any]:
    """Documents as an independent parser reads them."""
    body = text.removeprefix(BOM)
    if json_format:
        return [json.loads(body)]
    # ruamel's pure-Python scanner rejects a tab before a comment (valid YAML); it is
    # whitespace either way, so it is read as a space.
    return list(YAML(typ="safe", pure=True).load_all(TAB_BEFORE_COMMENT.sub(" ", body)))


def _container_at(document: Any, path: Path) -> dict[str, Any]:
    node = document
    for part in path:
        node = node[part]
    assert isinstance(node, dict)
    return node


def _pending(manifest: Manifest) -> list[Container]:
    return [c for c in manifest.containers if not (c.exempt or c.compliant)]


def _fix(manifest: Manifest) -> tuple[str, bytes | None]:
    text = render(manifest)
    report = check_manifest(manifest.style.path, text.encode("utf-8"), Config(), fix=True)
    assert report.skipped is None, report.skipped
    assert report.unfixable == ()
    assert len(report.findings) == len(_pending(manifest))
    exempt = [c for c in manifest.containers if c.exempt and not c.compliant]
    assert len(report.exempted) == len(exempt)
    return text, report.fixed


def check_properties(manifest: Manifest) -> None:
    text, fixed_bytes = _fix(manifest)
    pending = _pending(manifest)
    if not pending:
        assert fixed_bytes is None, "a file that needs no change is not rewritten"
        return
    assert fixed_bytes is not None
    new = fixed_bytes.decode("utf-8")
    json_format = manifest.style.json

    # Meaning: every pending container is Always, and nothing else changed.
    expected = deepcopy(load(text, json_format=json_format))
    for item in pending:
        _container_at(expected[item.document], item.path)[POLICY_KEY] = ALWAYS
    assert load(new, json_format=json_format) == expected

    # Bytes: outside the imagePullPolicy lines (and a JSON comma), every line is unchanged.
    assert unexpected_changes(text, new) == []
    assert new.startswith(BOM) == text.startswith(BOM)
    assert new.endswith(manifest.style.eol) == text.endswith(manifest.style.eol)
    if manifest.style.eol == "\r\n":
        assert new.count("\n") == new.count("\r\n")

    # Fixing again changes nothing; checking finds nothing.
    path = manifest.style.path
    assert check_manifest(path, fixed_bytes, Config(), fix=True).fixed is None
    after = check_manifest(path, fixed_bytes, Config())
    assert after.findings == ()
    assert after.skipped is None


@SETTINGS
@given(manifests(json_format=False))
def test_yaml_fix_properties(manifest: Manifest) -> None:
    check_properties(manifest)


@SETTINGS
@given(manifests(json_format=True))
def test_json_fix_properties(manifest: Manifest) -> None:
    check_properties(manifest)


@SETTINGS
@given(st.booleans().flatmap(lambda json_format: manifests(json_format=json_format)))
def test_fix_output_is_the_model_with_the_fix_applied(manifest: Manifest) -> None:
    """Stronger than the properties above: the exact bytes FIDELITY.md prescribes (value token
    replaced keeping its quotes; a new line right after the image line at the image key's
    column; a flow entry right after the image entry; JSON members with valid commas)."""
    _, fixed_bytes = _fix(manifest)
    expected = render(fixed(manifest))
    actual = fixed_bytes.decode("utf-8") if fixed_bytes is not None else render(manifest)
    assert actual == expected


def test_the_generator_renders_what_the_parser_reads() -> None:
    """The renderer itself is right: a known model renders to known text."""
    ctx_container = Mapping(
        (
            Entry("name", Scalar("web")),
            Entry("image", Scalar("'nginx:1.25'", "  # pinned")),
            Entry("ports", Sequence((Mapping((Entry("containerPort", Scalar("80")),)),))),
        )
    )
    document = Mapping(
        (
            Entry("kind", Scalar("Pod")),
            Entry("spec", Mapping((Entry("containers", Sequence((ctx_container,))),))),
        )
    )
    style = Style(
        json=False,
        indent=4,
        indent_sequences=False,
        dash_width=4,
        compact=False,
        eol="\r\n",
        final_newline=False,
        bom=False,
        leading_marker=True,
        header=None,
        path="a.yaml",
    )
    manifest = Manifest(
        (document,), (Container(0, ("spec", "containers", 0), False, False),), style
    )
    assert render(manifest) == (
        "---\r\nkind: Pod\r\nspec:\r\n    containers:\r\n    -   name: web\r\n"
        "        image: 'nginx:1.25'  # pinned\r\n        ports:\r\n        -   containerPort: 80"
    )
    assert render(fixed(manifest)).splitlines()[5:7] == [
        "        image: 'nginx:1.25'  # pinned",
        "        imagePullPolicy: Always",
    ]
    container = Mapping((Entry("name", Scalar('"web"')), Entry("image", Scalar('"nginx"'))))
    pod = Mapping((Entry("spec", Mapping((Entry("containers", Sequence((container,))),))),))
    json_style = replace(style, json=True, indent=2, eol="\n", final_newline=True)
    as_json = replace(manifest, documents=(pod,), style=json_style)
    assert render(fixed(as_json)) == (
        '{\n  "spec": {\n    "containers": [\n      {\n        "name": "web",\n'
        '        "image": "nginx",\n        "imagePullPolicy": "Always"\n      }\n    ]\n  }\n}\n'
    )


def test_json_null_policy_is_fixed() -> None:
    source = b'{"kind": "Pod", "apiVersion": "v1", "spec": {"containers": [\n'
    source += b'  {"name": "a", "image": "x:1", "imagePullPolicy": null}\n]}}\n'
    report = check_manifest("pod.json", source, Config(), fix=True)
    assert report.skipped is None
    assert report.fixed == source.replace(b"null", b'"Always"')


def test_keep_chomped_block_image_is_fixed_after_its_blank_lines() -> None:
    head = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
    source = head + b"  - name: a\n    image: |+\n      x:1\n\n  - name: b\n    image: y:1\n"
    report = check_manifest("pod.yaml", source, Config(), fix=True)
    assert report.skipped is None
    assert report.fixed == head + (
        b"  - name: a\n    image: |+\n      x:1\n\n    imagePullPolicy: Always\n"
        b"  - name: b\n    image: y:1\n    imagePullPolicy: Always\n"
    )


def test_quoted_text_that_looks_like_a_kind_does_not_hide_a_pod() -> None:
    source = (
        b'metadata:\n  name: p\n  annotations:\n    note: "see\nkind: ConfigMap for details"\n'
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: x:1\n"
    )
    report = check_manifest("pod.yaml", source, Config())
    assert [finding.container for finding in report.findings] == ["a"]
