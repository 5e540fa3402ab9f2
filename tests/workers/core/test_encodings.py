"""Manifests in UTF-16/32 (with a BOM) and keys spelled with escapes are checked and fixed like
any other: the byte pre-filter on `ontainer` used to pass them as clean, unlisted."""

from __future__ import annotations

import codecs

import pytest

from workers.config.model import Config
from workers.core.helm import ValueRef, check_values
from workers.core.manifest import check_manifest

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n"
    "    image: a:1\n"
)
FIXED_POD = POD + "    imagePullPolicy: Always\n"
FOLDED_KEY = '  ? "cont\\\n    ainers"\n  : - name: a\n      image: a:1'  # an explicit key
WIDE = [
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
]


@pytest.mark.parametrize(("bom", "codec"), WIDE, ids=[codec for _, codec in WIDE])
def test_utf16_and_utf32_with_a_bom_are_checked_and_fixed_in_their_own_encoding(
    bom: bytes, codec: str
) -> None:
    text = POD.replace("\n", "\r\n") + "# café ☃ 𝄞\r\n"  # CRLF and non-BMP text survive too
    data = bom + text.encode(codec)
    report = check_manifest("pod.yaml", data, Config(), fix=True)
    assert report.skipped is None
    assert [f.container for f in report.findings] == ["a"]
    expected = FIXED_POD.replace("\n", "\r\n") + "# café ☃ 𝄞\r\n"
    assert report.fixed == bom + expected.encode(codec)


def test_utf16_that_is_not_valid_is_skipped_with_a_reason() -> None:
    data = codecs.BOM_UTF16_LE + POD.encode("utf-16-le") + b"\x00\xd8"  # a lone surrogate
    report = check_manifest("pod.yaml", data, Config())
    assert report.skipped is not None and "UTF-16" in report.skipped


def test_utf16_without_a_bom_is_skipped_with_a_reason_not_passed_as_clean() -> None:
    report = check_manifest("pod.yaml", POD.encode("utf-16-le"), Config())
    assert report.skipped is not None


@pytest.mark.parametrize(
    "key",
    [
        r'"c\u006Fntainers"',  # JSON and YAML
        r'"\u0063ontainers"',
        r'"c\x6Fntainers"',  # YAML double-quoted only
        r'"c\U0000006Fntainers"',
    ],
)
def test_keys_spelled_with_escapes_are_found_and_fixed(key: str) -> None:
    body = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, '
    body += '"spec": {' + key + ': [{"name": "a", "image": "a:1"}]}}\n'
    report = check_manifest("pod.json", body.encode(), Config(), fix=True)
    assert [f.container for f in report.findings] == ["a"]
    assert report.fixed == body.replace('"a:1"', '"a:1", "imagePullPolicy": "Always"').encode()


def test_a_key_folded_across_lines_with_an_escaped_line_break_is_found() -> None:
    text = POD.replace("  containers:\n  - name: a\n    image: a:1", FOLDED_KEY)
    assert "ontainer" not in text
    report = check_manifest("pod.yaml", text.encode(), Config(), fix=True)
    assert [f.container for f in report.findings] == ["a"]
    assert report.fixed == (text + "      imagePullPolicy: Always\n").encode()


def test_helm_values_in_utf16_keep_their_encoding() -> None:
    values = "image:\n  pullPolicy: IfNotPresent\n"
    data = codecs.BOM_UTF16_LE + values.encode("utf-16-le")
    refs = [ValueRef("image.pullPolicy", None)]
    report = check_values("c", "c/values.yaml", data, refs, fix=True)
    expected = values.replace("IfNotPresent", "Always")
    assert report.fixed == codecs.BOM_UTF16_LE + expected.encode("utf-16-le")
