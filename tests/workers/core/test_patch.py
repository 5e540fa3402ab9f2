"""Byte-minimal edits (workers/core/patch.py): where each edit lands and what it writes.

The golden files (test_fidelity.py) cover whole files; these cases pin the branches that the
golden set leaves open, found by mutation testing (docs/mutation.md).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml
from yaml.nodes import MappingNode

from workers.config.model import Config
from workers.core.detect import detect
from workers.core.manifest import check_manifest, worth_composing
from workers.core.patch import (
    Edit,
    Unfixable,
    apply,
    edit_for,
    insert_policy,
    is_json,
    line_ending,
)
from workers.core.yamldoc import ParsedText, iter_chunks


def _fixed(text: str, path: str = "pod.yaml") -> str:
    report = check_manifest(path, text.encode(), Config(), fix=True)
    assert report.skipped is None, report.skipped
    assert report.fixed is not None
    return report.fixed.decode()


def test_line_endings() -> None:
    assert line_ending("a: 1\r\nb: 2\n") == "\r\n"
    assert line_ending("a: 1\nb: 2\r\n") == "\n"
    assert line_ending("\na: 1\r\n") == "\n"  # an empty first line says nothing: LF
    assert line_ending("a: 1") == "\n"
    assert line_ending("\na: 1\r") == "\n"  # a CR elsewhere is not the first line's ending
    assert line_ending("\r\na: 1") == "\r\n"


def test_json_is_known_by_name_or_first_character() -> None:
    assert is_json("k8s/POD.JSON", "a: 1")
    assert is_json("pod.yaml", '  {"a": 1}')
    assert is_json("pod.yaml", "[1]")
    assert not is_json("pod.yaml", "a: {b: 1}")


def test_edits_apply_in_order_and_overlaps_are_refused() -> None:
    assert apply("abcdef", [Edit(4, 5, "E"), Edit(0, 1, "A"), Edit(2, 2, "+")]) == "Ab+cdEf"
    assert apply("abc", [Edit(1, 2, "B"), Edit(1, 2, "B")]) == "aBc"  # the same edit once
    with pytest.raises(Unfixable):
        apply("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    with pytest.raises(Unfixable):
        apply("abcdef", [Edit(1, 1, "x"), Edit(1, 2, "y")])  # two edits at one offset


HEAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
B = "  - name: b\n    image: b:1\n    imagePullPolicy: Always\n"
POLICY = "    imagePullPolicy: Always\n"

YAML_CASES = {
    # `|+` keeps its trailing blank lines as content: the new line goes after them.
    "keep chomping": (
        "  - name: a\n    image: |+\n      nginx:1\n\n" + B,
        "  - name: a\n    image: |+\n      nginx:1\n\n" + POLICY + B,
    ),
    "keep chomping at the end": (
        "  - name: a\n    image: &i |+\n      nginx:1\n\n",
        "  - name: a\n    image: &i |+\n      nginx:1\n\n" + POLICY,
    ),
    # `|` clips them: the new line goes right after the content.
    "clip chomping": (
        "  - name: a\n    image: |\n      nginx:1\n\n" + B,
        "  - name: a\n    image: |\n      nginx:1\n" + POLICY + "\n" + B,
    ),
    "anchor, tag and comment": (
        "  - name: a\n    image: &img !!str nginx:1  # c\n",
        "  - name: a\n    image: &img !!str nginx:1  # c\n" + POLICY,
    ),
    "empty value": (
        "  - name: a\n    image: a:1\n    imagePullPolicy:\n",
        "  - name: a\n    image: a:1\n" + POLICY,
    ),
    "empty value after an anchor": (
        "  - name: a\n    image: a:1\n    imagePullPolicy: &p\n",
        "  - name: a\n    image: a:1\n    imagePullPolicy: &p Always\n",
    ),
    "empty value in a flow mapping": (
        "  - {name: a, image: a:1, imagePullPolicy: }\n",
        "  - {name: a, image: a:1, imagePullPolicy: Always}\n",
    ),
    "plain value": (
        "  - name: a\n    image: a:1\n    imagePullPolicy: IfNotPresent  # cached\n",
        "  - name: a\n    image: a:1\n    imagePullPolicy: Always  # cached\n",
    ),
    "quotes kept": (
        "  - name: a\n    image: a:1\n    imagePullPolicy: 'Never'\n",
        "  - name: a\n    image: a:1\n    imagePullPolicy: 'Always'\n",
    ),
    "no final newline": (
        "  - name: a\n    image: a:1",
        "  - name: a\n    image: a:1\n    imagePullPolicy: Always",
    ),
}


@pytest.mark.parametrize("name", YAML_CASES)
def test_yaml_edits(name: str) -> None:
    before, after = YAML_CASES[name]
    assert _fixed(HEAD + before) == HEAD + after


@pytest.mark.parametrize("final", ["", "\r\n"], ids=["no final newline", "final newline"])
def test_crlf_lines_are_inserted_before_the_cr(final: str) -> None:
    text = (HEAD + "  - name: a\n    image: a:1").replace("\n", "\r\n") + final
    assert _fixed(text) == text.removesuffix(final) + "\r\n    imagePullPolicy: Always" + final


POD_JSON = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},\n "spec": '

JSON_CASES = {
    "null becomes a string": (
        '{"containers": [{"name": "a", "image": "a:1", "imagePullPolicy": null}]}}\n',
        '{"containers": [{"name": "a", "image": "a:1", "imagePullPolicy": "Always"}]}}\n',
    ),
    "one line": (
        '{"containers": [{"name": "a", "image": "a:1"}]}}\n',
        '{"containers": [{"name": "a", "image": "a:1", "imagePullPolicy": "Always"}]}}\n',
    ),
    "a comma after spaces": (
        '{"containers": [{\n   "image": "a:1"  ,\n   "name": "a"\n }]}}\n',
        '{"containers": [{\n   "image": "a:1"  ,\n   "imagePullPolicy": "Always",\n'
        '   "name": "a"\n }]}}\n',
    ),
    "the last member, spaces before the line break": (
        '{"containers": [{\n   "name": "a",\n   "image": "a:1"  \n }]}}\n',
        '{"containers": [{\n   "name": "a",\n   "image": "a:1",\n'
        '   "imagePullPolicy": "Always"  \n }]}}\n',
    ),
    "the brace on the same line": (
        '{"containers": [{\n   "name": "a",\n   "image": "a:1" }\n ]}}\n',
        '{"containers": [{\n   "name": "a",\n   "image": "a:1", "imagePullPolicy": "Always" }\n'
        " ]}}\n",
    ),
    "the end of the file": (
        '{"containers": [{\n   "name": "a",\n   "image": "a:1"}]}}',
        '{"containers": [{\n   "name": "a",\n   "image": "a:1", "imagePullPolicy": "Always"}]}}',
    ),
}


@pytest.mark.parametrize("name", JSON_CASES)
def test_json_edits(name: str) -> None:
    before, after = JSON_CASES[name]
    assert _fixed(POD_JSON + before, "pod.json") == POD_JSON + after


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (">\n      Never\n", "imagePullPolicy is a block scalar"),
        ("|\n      Never\n", "imagePullPolicy is a block scalar"),
        ("{a: 1}\n", "imagePullPolicy is not a scalar"),
    ],
)
def test_policies_that_cannot_be_replaced_say_why(policy: str, reason: str) -> None:
    text = HEAD + "  - name: a\n    image: a:1\n    imagePullPolicy: " + policy
    report = check_manifest("pod.yaml", text.encode(), Config(), fix=True)
    assert report.fixed is None
    assert [why for _, why in report.unfixable] == [reason]


def test_one_unfixable_container_does_not_stop_the_others() -> None:
    text = (
        HEAD + "  - name: a\n    image: a:1\n    imagePullPolicy: |\n      Never\n"
        "  - name: b\n    image: b:1\n  - name: c\n    image: c:1\n    imagePullPolicy: |\n"
        "      Never\n  - name: d\n    image: d:1\n"
    )
    report = check_manifest("pod.yaml", text.encode(), Config(), fix=True)
    assert [f.container for f, _ in report.unfixable] == ["a", "c"]
    assert report.fixed is not None
    assert report.fixed.decode().count("imagePullPolicy: Always") == 2


def test_containers_inheriting_one_image_get_one_line() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n"
        "    - &base\n      name: a\n      image: a:1\n"
        "    - <<: *base\n      name: b\n"
        "- apiVersion: v1\n  kind: Pod\n  metadata: {name: q}\n  spec:\n    containers:\n"
        "    - <<: *base\n      name: c\n"
    )
    fixed = _fixed(text)
    assert fixed == text.replace(
        "      image: a:1\n", "      image: a:1\n      imagePullPolicy: Always\n"
    )


def test_adjacent_edits_are_not_overlapping() -> None:
    assert apply("abc", [Edit(0, 1, "A"), Edit(1, 2, "B")]) == "ABc"
    with pytest.raises(Unfixable, match=r"^overlapping edits$"):
        apply("abc", [Edit(0, 2, "A"), Edit(1, 3, "B")])


def test_a_flow_value_ending_in_any_character_keeps_it() -> None:
    text = HEAD + "  - {name: a, image: registry/X}\n"
    assert _fixed(text) == HEAD + "  - {name: a, image: registry/X, imagePullPolicy: Always}\n"


def test_a_json_named_file_written_as_yaml_gets_a_json_style_line() -> None:
    text = HEAD + "  - name: a\n    image: a:1\n"
    assert _fixed(text, "pod.json") == text + '    "imagePullPolicy": "Always"\n'


def test_a_covered_container_does_not_stop_the_ones_after_it() -> None:
    text = (
        HEAD + "  - &base\n    name: a\n    image: a:1\n"
        "  - <<: *base\n    name: b\n"  # inherits a's new line: needs no edit of its own
        "  - name: c\n    image: c:1\n"
    )
    fixed = _fixed(text)
    assert fixed.count("imagePullPolicy: Always") == 2
    assert fixed.endswith("    image: c:1\n    imagePullPolicy: Always\n")


def test_an_inheriting_container_gets_its_line_after_its_merge_key() -> None:
    # Its source is exempt, so the source gets no line: the inheriting container needs its own,
    # after `<<: *base` (not after whichever key comes first).
    text = HEAD + "  - &base\n    name: a\n    image: a:1\n  - name: b\n    <<: *base\n"
    config = Config.model_validate({"exempt": {"containers": ["a"]}})
    report = check_manifest("pod.yaml", text.encode(), config, fix=True)
    assert report.fixed == (text + "    imagePullPolicy: Always\n").encode()


def test_a_target_asking_for_its_own_line_never_gets_one_in_its_step_template() -> None:
    # The stepTemplate is shared with an exempt step, so detection asks for the step's own
    # line and, as the step has no image line to put it beside, blocks the finding. The
    # patcher must honour `own_line` by itself: were the block lost, the line would otherwise
    # go in the template and change the exempt step.
    text = (
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n"
        "  stepTemplate:\n    image: golang:1.23\n"
        "  steps:\n  - name: kept  # pullpolicy: ignore\n    script: go build\n"
        "  - name: inherits\n    script: go test\n"
    )
    chunk = next(iter_chunks(text, worth_composing))
    (target,) = detect("task.yaml", ParsedText(text, False, (chunk,)), Config()).targets
    assert target.own_line
    assert target.blocked is not None
    with pytest.raises(Unfixable):
        edit_for(replace(target, blocked=None), chunk.text, json_style=False, eol="\n")


INSERT_CASES = {
    "a block mapping: a line at the image key's column": (
        "  name: a\n  image: a:1\n  args: []\n",
        False,
        "\n",
        "  name: a\n  image: a:1\n  imagePullPolicy: Always\n  args: []\n",
    ),
    "a block mapping keeps the file's line ending": (
        "name: a\r\nimage: a:1\r\n",
        False,
        "\r\n",
        "name: a\r\nimage: a:1\r\nimagePullPolicy: Always\r\n",
    ),
    "a block mapping in a JSON-named file": (
        "name: a\nimage: a:1\n",
        True,
        "\n",
        'name: a\nimage: a:1\n"imagePullPolicy": "Always"\n',
    ),
    "a flow mapping: one more entry": (
        "{name: a, image: a:1}\n",
        False,
        "\n",
        "{name: a, image: a:1, imagePullPolicy: Always}\n",
    ),
    "a multi-line JSON object: a member on its own line": (
        '{\r\n  "image": "a:1",\r\n  "name": "a"\r\n}\r\n',
        True,
        "\r\n",
        '{\r\n  "image": "a:1",\r\n  "imagePullPolicy": "Always",\r\n  "name": "a"\r\n}\r\n',
    ),
}


@pytest.mark.parametrize("name", INSERT_CASES)
def test_insert_policy_puts_the_entry_beside_the_image(name: str) -> None:
    # kustomize patches (workers/core/kustomize_patches.py) locate the container themselves.
    text, json_style, eol, expected = INSERT_CASES[name]
    container = yaml.compose(text, Loader=yaml.CSafeLoader)
    assert isinstance(container, MappingNode)
    ((key, value),) = [(k, v) for k, v in container.value if k.value == "image"]
    edit = insert_policy(container, key, value, text, json_style=json_style, eol=eol)
    assert apply(text, [edit]) == expected
