"""Splitting at document markers must agree with a whole-file parse: indices, lines, offsets."""

from __future__ import annotations

import pytest

from workers.config.model import Config
from workers.core.manifest import check_manifest
from workers.core.yamldoc import Unparseable, get, parse, scalar

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n"
    "spec:\n  containers:\n  - name: a\n    image: a:1\n"
)
CRD = (
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  containers: x\n"
)


@pytest.mark.parametrize(
    "text",
    [
        "# header comment\n---\n" + POD.format(name="p0") + "---\n---\n" + POD.format(name="p1"),
        POD.format(name="p0") + "---\n" + CRD + "--- # comment\n" + POD.format(name="p1"),
        "%YAML 1.2\n---\n" + POD.format(name="p0") + "...\n---\n" + POD.format(name="p1"),
        POD.format(name="p0")
        + "...\n"
        + POD.format(name="p1").replace("apiVersion", "---\napiVersion"),
    ],
)
def test_document_indices_and_lines_match_a_whole_file_parse(text: str) -> None:
    split = check_manifest("m.yaml", text.encode(), Config(), fix=True)
    whole = parse(text, split=False)
    names = [(scalar(get(root, "metadata", "name")), index) for _, index, root in whole.documents()]
    expected = [(name, index) for name, index in names if name]  # the CRD has no name
    assert [(f.name, f.document) for f in split.findings] == expected
    lines = text.splitlines()
    for finding in split.findings:
        assert lines[finding.line - 1].strip() == "image: a:1"
    assert split.fixed is not None
    assert split.fixed.decode().count("imagePullPolicy: Always") == 2


def test_never_workload_chunks_are_not_composed() -> None:
    text = POD.format(name="p0") + "---\n" + CRD + "  broken: [\n"
    parsed = parse(text, lambda chunk: "CustomResourceDefinition" not in chunk)
    assert [chunk.documents is None for chunk in parsed.chunks] == [False, True]


def test_errors_report_file_lines_not_chunk_lines() -> None:
    text = POD.format(name="p0") + "---\n" + POD.format(name="p1") + "metadata: {}\n"
    report = check_manifest("m.yaml", text.encode(), Config())
    assert report.skipped == "duplicate key 'metadata' at line 18"
    with pytest.raises(Unparseable, match="line 12"):
        parse(POD.format(name="p0") + "---\nkind: Pod\ncontainers:\n- {{ template }}: x\n")
