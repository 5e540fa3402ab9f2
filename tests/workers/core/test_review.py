"""The diff-line mapping and the suggestions a review carries (workers.core.review)."""

from __future__ import annotations

import difflib

from workers.config.model import Config
from workers.core.manifest import check_manifest
from workers.core.review import (
    DiffLines,
    Suggestion,
    asks_to_ignore,
    comment_body,
    parse_comment_marker,
    parse_patch,
    reviewable,
    suggestions,
)

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
      - name: sidecar
        image: envoy:1.2
        imagePullPolicy: IfNotPresent
"""


def patch_of(before: str, after: str) -> str:
    """A forge's `patch`: unified hunks without the file header lines."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), n=3
    )
    out = []
    for line in list(lines)[2:]:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out).removesuffix("\n")


def review(path: str, text: str) -> list[Suggestion]:
    report = check_manifest(path, text.encode(), Config(), fix=True)
    assert report.fixed is not None
    return suggestions(path, text, report.fixed.decode(), report.findings)


def test_added_lines_are_told_from_context_and_removed_lines() -> None:
    patch = "@@ -3,4 +3,5 @@ metadata:\n ctx\n-old\n+new\n+more\n ctx2\n ctx3"
    diff = parse_patch(patch)
    assert diff.added == {4, 5}
    assert diff.hunks == ((3, 7),)


def test_a_new_file_is_all_added_and_a_deletion_adds_nothing() -> None:
    assert parse_patch("@@ -0,0 +1,3 @@\n+a\n+b\n+c").added == {1, 2, 3}
    deleted = parse_patch("@@ -1,2 +0,0 @@\n-a\n-b")
    assert deleted == DiffLines(frozenset(), ())


def test_no_patch_means_no_lines() -> None:
    # GitHub sends no `patch` for a rename without changes, a binary or a huge diff.
    assert parse_patch(None).added == frozenset()
    assert parse_patch("").hunks == ()


def test_several_hunks_and_the_no_newline_marker() -> None:
    patch = (
        "@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -10,2 +10,3 @@\n x\n y\n+z\n\\ No newline at end of file"
    )
    diff = parse_patch(patch)
    assert diff.added == {2, 12}
    assert diff.hunks == ((1, 2), (10, 12))
    assert diff.hunk_of(10, 12) == (10, 12)
    assert diff.hunk_of(2, 10) is None


def test_an_insert_suggests_the_image_line_plus_the_new_line() -> None:
    found = review("web.yaml", DEPLOYMENT)
    insert, replace = found
    assert (insert.start, insert.end) == (10, 10)
    assert insert.lines == ("        image: nginx:1.25", "        imagePullPolicy: Always")
    assert [f.container for f in insert.findings] == ["app"]
    assert (replace.start, replace.end) == (13, 13)
    assert replace.lines == ("        imagePullPolicy: Always",)
    assert [f.container for f in replace.findings] == ["sidecar"]


def test_applying_the_suggestions_gives_the_core_patch() -> None:
    report = check_manifest("web.yaml", DEPLOYMENT.encode(), Config(), fix=True)
    assert report.fixed is not None
    lines = DEPLOYMENT.split("\n")
    for s in sorted(review("web.yaml", DEPLOYMENT), key=lambda s: -s.start):
        lines[s.start - 1 : s.end] = list(s.lines)
    assert "\n".join(lines).encode() == report.fixed


def test_only_findings_on_lines_the_pr_adds_are_reviewed() -> None:
    base = DEPLOYMENT.replace("      - name: app\n        image: nginx:1.25\n", "")
    diff = parse_patch(patch_of(base, DEPLOYMENT))
    assert diff.added == {9, 10}
    kept = reviewable(review("web.yaml", DEPLOYMENT), diff)
    assert [s.start for s in kept] == [10]  # the sidecar's finding predates the PR


def test_a_change_next_to_a_finding_outside_the_hunk_is_not_reviewed() -> None:
    diff = DiffLines(added=frozenset({10}), hunks=((9, 10),))
    found = review("web.yaml", DEPLOYMENT)
    assert [s.start for s in reviewable(found, diff)] == [10]
    assert reviewable(found, DiffLines(frozenset({13}), ((12, 12),))) == []


def test_a_renamed_file_is_reviewed_on_its_new_lines_only() -> None:
    # A rename keeps its findings in the check run; the review sees the patch's new lines.
    assert reviewable(review("moved.yaml", DEPLOYMENT), parse_patch(None)) == []
    renamed_and_edited = (
        "@@ -12,2 +12,2 @@\n         image: envoy:1.2\n"
        "-        imagePullPolicy: Never\n+        imagePullPolicy: IfNotPresent"
    )
    kept = reviewable(review("moved.yaml", DEPLOYMENT), parse_patch(renamed_and_edited))
    assert [(s.path, s.start) for s in kept] == [("moved.yaml", 13)]


def test_crlf_files_suggest_lines_without_their_carriage_returns() -> None:
    text = DEPLOYMENT.replace("\n", "\r\n")
    found = review("web.yaml", text)
    assert found[0].lines == ("        image: nginx:1.25", "        imagePullPolicy: Always")
    assert all("\r" not in line for s in found for line in s.lines)
    patch = (
        "@@ -9,2 +9,2 @@\r\n       - name: app\r\n"
        "-        image: nginx:1.24\r\n+        image: nginx:1.25\r"
    )
    assert parse_patch(patch).added == {10}


def test_multi_document_files_map_each_finding_to_its_own_line() -> None:
    second = DEPLOYMENT.replace("name: web", "name: api").replace("nginx:1.25", "redis:7")
    text = DEPLOYMENT + "---\n" + second
    found = review("two.yaml", text)
    offset = DEPLOYMENT.count("\n") + 1
    assert [s.start for s in found] == [10, 13, 10 + offset, 13 + offset]
    assert found[2].lines[0] == "        image: redis:7"
    assert found[2].findings[0].name == "api"


def test_an_insert_at_the_end_of_a_file_without_final_newline() -> None:
    text = (
        DEPLOYMENT.removesuffix("\n")
        .replace(
            "      - name: sidecar\n        image: envoy:1.2\n"
            "        imagePullPolicy: IfNotPresent",
            "",
        )
        .rstrip("\n")
    )
    assert text.endswith("image: nginx:1.25")
    (only,) = review("eof.yaml", text)
    last = text.count("\n") + 1
    assert (only.start, only.end) == (last, last)
    assert only.lines == ("        image: nginx:1.25", "        imagePullPolicy: Always")
    diff = parse_patch(patch_of("", text))
    assert reviewable([only], diff) == [only]


def test_the_marker_is_stable_and_parsed_back() -> None:
    first = review("web.yaml", DEPLOYMENT)[0]
    again = review("web.yaml", DEPLOYMENT)[0]
    assert first.marker == again.marker
    body = comment_body(first)
    assert parse_comment_marker(body) == first.key
    assert parse_comment_marker("a person's comment") is None


def test_the_comment_carries_a_suggestion_block_of_exactly_the_lines() -> None:
    suggestion = review("web.yaml", DEPLOYMENT)[0]
    body = comment_body(suggestion)
    block = "```suggestion\n        image: nginx:1.25\n        imagePullPolicy: Always\n```"
    assert block in body
    assert "`app`" in body or "app" in body
    gitlab = comment_body(suggestion, gitlab=True)
    assert "```suggestion:-0+0\n" in gitlab


def test_backticks_in_a_line_get_a_longer_fence() -> None:
    suggestion = Suggestion("a.yaml", 1, 1, ("x: ```y```",), ())
    assert "````suggestion\nx: ```y```\n````" in comment_body(suggestion)


def test_a_reply_can_ask_to_ignore() -> None:
    assert asks_to_ignore("Thanks, but PullPolicy: ignore — this image is preloaded")
    assert not asks_to_ignore("looks good")
