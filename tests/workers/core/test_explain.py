"""The explanation renderer: PR title/body/commit message, marker, SARIF, annotations, text."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.golden import assert_matches_golden
from workers.config.model import DEFAULT_CONFIG, Config
from workers.core import explain, explain_markdown, sarif
from workers.core.explain import (
    body_digest,
    commit_message,
    github_annotations,
    parse_marker,
    pr_title,
    render_marker,
    text_report,
)
from workers.core.explain_markdown import code_span, pr_body
from workers.core.findings import Exempted, FileReport, Finding, Source, fingerprint
from workers.core.renders import Verification

GOLDEN = Path(__file__).parent / "golden" / "explain"
VERSION = "0.1.0"


def assert_golden(name: str, text: str) -> None:
    """Compare with a committed file (UPDATE_GOLDEN=1 rewrites it, and fails: tests/golden.py)."""
    assert_matches_golden(GOLDEN / name, text)


def make(
    path: str = "deploy/web.yaml",
    line: int = 10,
    *,
    column: int = 9,
    kind: str = "Deployment",
    name: str = "web",
    container: str = "app",
    container_list: str = "containers",
    image: str | None = "nginx:1.25",
    current: str | None = "IfNotPresent",
    changes_runtime: bool = True,
    source: Source = Source.MANIFEST,
    value_path: str | None = None,
) -> Finding:
    return Finding(
        path=path,
        line=line,
        column=column,
        document=0,
        kind=kind,
        name=name,
        namespace=None,
        container_list=container_list,
        container=container,
        image=image,
        current=current,
        changes_runtime=changes_runtime,
        fingerprint=fingerprint(path, kind, name, container_list, container, value_path),
        source=source,
        value_path=value_path,
    )


def helm(path: str = "charts/app/values.yaml", line: int = 7) -> Finding:
    return make(
        path,
        line,
        column=15,
        kind="",
        name="",
        container="",
        image=None,
        source=Source.HELM_VALUES,
        value_path="image.pullPolicy",
    )


HOSTILE_IMAGE = "evil`img|x\n<script>alert(1)</script>@sha256:[link](http://x)"


def sample_findings() -> list[Finding]:
    """A fixed, varied set: every kind of row the body knows, and hostile values."""
    return [
        make("deploy/web.yaml", 12),
        make(
            "deploy/web.yaml",
            30,
            container="init",
            container_list="initContainers",
            image="busybox",
            current=None,
        ),
        make("deploy/kind.yaml", 5, name="local", current="Never", image="local/app:dev"),
        make("deploy/latest.yaml", 3, image="nginx:latest", current=None, changes_runtime=False),
        make("deploy/quoted.yaml", 8, current=""),
        helm(),
        make("odd|dir/evil.yaml", 2, name="x`y", container="c|d", image=HOSTILE_IMAGE),
    ]


def sample_exempted() -> list[Exempted]:
    db = make("deploy/db.yaml", 4, kind="StatefulSet", name="db", container="postgres")
    return [Exempted(db, "annotation polaris.fairwinds.com/pullPolicyNotAlways-exempt")]


SAMPLE_SKIPPED = [("broken.yaml", "duplicate mapping key 'image' at line 4")]


def sample_body(limit: int = explain_markdown.DEFAULT_LIMIT) -> str:
    return pr_body(
        sample_findings(),
        exempted=sample_exempted(),
        skipped=SAMPLE_SKIPPED,
        version=VERSION,
        limit=limit,
    )


def many_findings(count: int, per_file: int) -> list[Finding]:
    return [
        make(
            f"apps/app-{i // per_file:04d}/deployment.yaml",
            10 + i % per_file,
            name=f"app-{i}",
            container=f"c{i}",
            current="Never" if i % 50 == 0 else None,
        )
        for i in range(count)
    ]


def outside_code_spans(markdown: str) -> str:
    """The text with CommonMark code spans removed (a run of N backticks closes at the next
    run of exactly N), so tests can check what is *not* protected by a code span."""
    out: list[str] = []
    i = 0
    while i < len(markdown):
        if markdown[i] != "`":
            out.append(markdown[i])
            i += 1
            continue
        run = len(markdown[i:]) - len(markdown[i:].lstrip("`"))
        closing = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(markdown, i + run)
        if closing is None:
            out.append(markdown[i : i + run])
            i += run
        else:
            i = closing.end()
    return "".join(out)


def table_cells(row: str) -> list[str]:
    """GFM cells of a table row: split on pipes not escaped with a backslash."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


# --- title and commit message -------------------------------------------------------------


def test_title_counts_containers_helm_values_and_files() -> None:
    assert pr_title(sample_findings(), DEFAULT_CONFIG) == (
        "Set imagePullPolicy: Always on 6 containers and 1 Helm value in 6 files"
    )
    assert (
        pr_title([make()], DEFAULT_CONFIG) == "Set imagePullPolicy: Always on 1 container in 1 file"
    )
    assert pr_title([make(), make(line=20, container="b"), make("b.yaml")], DEFAULT_CONFIG) == (
        "Set imagePullPolicy: Always on 3 containers in 2 files"
    )
    assert (
        pr_title([helm()], DEFAULT_CONFIG)
        == "Set imagePullPolicy: Always on 1 Helm value in 1 file"
    )


def test_title_from_config_wins() -> None:
    config = Config.model_validate({"pull_request": {"title": "chore: pull images always"}})
    assert pr_title(sample_findings(), config) == "chore: pull images always"


def test_commit_message_default_has_short_subject_blank_line_and_files() -> None:
    message = commit_message(sample_findings(), DEFAULT_CONFIG)
    subject, blank, *body = message.split("\n")
    assert subject == pr_title(sample_findings(), DEFAULT_CONFIG)
    assert len(subject) <= explain.COMMIT_SUBJECT_MAX
    assert blank == ""
    assert body[0] == "- charts/app/values.yaml: 1"
    assert "- deploy/web.yaml: 2" in body
    assert len(body) == 6  # one line per file


def test_commit_subject_stays_short_and_file_list_is_capped() -> None:
    helm_values = [helm(f"charts/c{i}/values.yaml") for i in range(1000)]
    findings = [*many_findings(1000, per_file=1), *helm_values]
    long_subject = pr_title(findings, DEFAULT_CONFIG)
    assert len(long_subject) > explain.COMMIT_SUBJECT_MAX
    subject, _, *body = commit_message(findings, DEFAULT_CONFIG).split("\n")
    assert subject == "Set imagePullPolicy: Always in 2000 files"
    assert len(body) == explain.COMMIT_FILES_MAX + 1
    assert body[-1] == explain.MORE_FILES.format(count=2000 - explain.COMMIT_FILES_MAX)


def test_commit_message_cannot_be_given_extra_lines_by_a_path() -> None:
    message = commit_message([make("a.yaml\nSigned-off-by: mallory")], DEFAULT_CONFIG)
    assert "\nSigned-off-by" not in message
    assert "a.yaml\\nSigned-off-by: mallory" in message


def test_commit_message_from_config_wins() -> None:
    config = Config.model_validate({"pull_request": {"commit_message": "fix: pull\n\nbody"}})
    assert commit_message(sample_findings(), config) == "fix: pull\n\nbody"


# --- the body -----------------------------------------------------------------------------


def test_body_matches_golden() -> None:
    assert_golden("body_full.md", sample_body())


def test_body_counts_runtime_changes_apart_from_explicit_defaults() -> None:
    body = sample_body()
    assert explain_markdown.RUNTIME_LINE.format(count=6) in body
    assert explain_markdown.EXPLICIT_LINE.format(count=1) in body
    only_runtime = pr_body([make()], version=VERSION)
    assert explain_markdown.RUNTIME_LINE.format(count=1) in only_runtime
    assert "Only makes the default explicit" not in only_runtime


def test_body_rows_show_before_and_after() -> None:
    rows = {
        table_cells(line)[0] + "@" + table_cells(line)[-1]
        for line in sample_body().splitlines()
        if line.startswith("| ") and not line.startswith("| Line")
    }
    assert "12@`IfNotPresent` → `Always`" in rows
    assert "30@*(missing)* → `Always`" in rows
    assert "3@*(missing)* → `Always` (default made explicit)" in rows
    assert "8@*(empty)* → `Always`" in rows
    assert "7@`IfNotPresent` → `Always`" in rows  # the Helm value


def test_never_containers_are_called_out_one_per_line() -> None:
    body = sample_body()
    assert explain_markdown.NEVER_HEADING.format(count=1) in body
    assert explain_markdown.NEVER_NOTE in body
    assert "- `deploy/kind.yaml` line 5: `Deployment/local` container `app`" in body.splitlines()
    assert "Never` changed" not in pr_body([make()], version=VERSION)


def test_helm_findings_are_described_as_values_keys() -> None:
    body = sample_body()
    assert explain_markdown.HELM_TABLE_HEAD in body
    assert "| 7 | `image.pullPolicy` | `IfNotPresent` → `Always` |" in body
    assert explain_markdown.HELM_NOTE in body
    assert explain_markdown.HELM_NOTE not in pr_body([make()], version=VERSION)


def test_body_explains_why_trade_offs_exemptions_and_declining() -> None:
    body = sample_body()
    for section in (
        explain_markdown.WHY_ALWAYS,
        explain_markdown.TRADE_OFFS,
        explain_markdown.HOW_TO_EXEMPT,
        explain_markdown.DECLINE_NOTE,
    ):
        assert section in body
    for needle in (
        "`# pullpolicy: ignore`",
        "`# pullpolicy: ignore-file`",
        'polaris.fairwinds.com/pullPolicyNotAlways-exempt: "true"',
        "checkov.io/skip1: CKV_K8S_15=",
        "kube-linter.io/ignore-all",
        "kube-score/ignore: container-image-pull-policy",
        "Docker Hub",
        "pull-through cache",
        "kind clusters, air-gapped",
    ):
        assert needle in body


def test_exemption_example_is_a_valid_pullpolicy_yml() -> None:
    block = re.search(r"```yaml\n(.*?)\n *```", explain_markdown.HOW_TO_EXEMPT, re.DOTALL)
    assert block is not None
    config = Config.model_validate(yaml.safe_load(block.group(1)))
    assert config.rules.never == "keep"
    assert config.rules.digests == "exempt"
    assert "busybox:*" in config.exempt.images


def test_body_lists_exempted_and_skipped_files() -> None:
    body = sample_body()
    assert "<summary>1 container exempted and left alone</summary>" in body
    assert (
        "- `deploy/db.yaml` line 4: `StatefulSet/db` container `postgres`"
        " — `annotation polaris.fairwinds.com/pullPolicyNotAlways-exempt`"
    ) in body
    assert "- `broken.yaml` — `duplicate mapping key 'image' at line 4`" in body


def test_body_ends_with_the_complete_marker() -> None:
    body = sample_body()
    fingerprints = sorted({finding.fingerprint for finding in sample_findings()})
    expected = (
        '<!-- pullpolicy:v1 {"version":"0.1.0","fingerprints":['
        + ",".join(f'"{fp}"' for fp in fingerprints)
        + "]} -->"
    )
    assert body.endswith("\n\n" + expected)
    assert parse_marker(body) == (VERSION, frozenset(fingerprints))


def test_exempted_findings_are_not_in_the_marker() -> None:
    marker = parse_marker(sample_body())
    assert marker is not None
    assert sample_exempted()[0].finding.fingerprint not in marker[1]


def test_hostile_values_stay_inside_code_spans_and_cells() -> None:
    body = sample_body()
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    manifest_rows = [row for row in rows if len(table_cells(row)) != 3]
    assert all(len(table_cells(row)) == 5 for row in manifest_rows)  # no column injected
    evil_row = next(row for row in rows if row.startswith("| 2 |"))
    assert "\n" not in evil_row
    unprotected = outside_code_spans(body)
    for needle in ("<script>", "[link](", "alert(1)", "x`y", "c|d", "@sha256"):
        assert needle not in unprotected
    # The value is still all there for the reviewer (newline shown escaped).
    assert "``evil`img\\|x\\n<script>alert(1)</script>@sha256:[link](http://x)``" in evil_row


def test_hostile_path_is_html_escaped_in_folded_summaries() -> None:
    findings = [
        make("a/<img src=x onerror=alert(1)>.yaml", line=i, container=f"c{i}") for i in range(1, 80)
    ]
    full = pr_body(findings, version=VERSION)
    body = pr_body(findings, version=VERSION, limit=len(full) - 1)
    assert "<summary><code>a/&lt;img src=x onerror=alert(1)&gt;.yaml</code>" in body
    assert "<img" not in outside_code_spans(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("`lead", "`` `lead ``"),
        ("tail`", "`` tail` ``"),
        ("a``b`c", "```a``b`c```"),
        (" both ", "`  both  `"),
        ("", explain_markdown.EMPTY_CELL),
        ("line\nbreak", "`line\\nbreak`"),
        ("\x1b[31mred", "`\\x1b[31mred`"),
        ("rtl\u202eevil", "`rtl\\u202eevil`"),
    ],
)
def test_code_span(text: str, expected: str) -> None:
    assert code_span(text) == expected


def test_code_span_in_table_escapes_pipes_and_cuts_long_values() -> None:
    assert code_span("a|b", in_table=True) == "`a\\|b`"
    long = code_span("x" * 1000)
    assert len(long) == explain.VALUE_MAX_CHARS + 2
    assert long.endswith("…`")


# --- the length cap -----------------------------------------------------------------------


def collapse_findings() -> list[Finding]:
    big = [make("deploy/big.yaml", 100 + i, container=f"c{i}") for i in range(60)]
    return [*sample_findings(), *big]


def collapsed(limit: int) -> str:
    body = pr_body(
        collapse_findings(),
        exempted=sample_exempted(),
        skipped=SAMPLE_SKIPPED,
        version=VERSION,
        limit=limit,
    )
    assert len(body) <= limit
    assert parse_marker(body) == (VERSION, frozenset(f.fingerprint for f in collapse_findings()))
    return body


def test_body_never_exceeds_the_limit_and_keeps_the_marker() -> None:
    full = collapsed(1_000_000)
    marker = render_marker(VERSION, (f.fingerprint for f in collapse_findings()))
    for limit in range(len(marker), len(full) + 50, 41):
        body = collapsed(limit)
        assert body.endswith(marker)


def test_collapse_folds_tables_then_cuts_rows_then_lists_files() -> None:
    full = collapsed(1_000_000)
    assert "#### `deploy/big.yaml`" in full
    assert "<details>\n<summary><code>" not in full

    folded = collapsed(len(full) - 1)
    assert "#### " not in folded
    assert "<details>\n<summary><code>deploy/big.yaml</code> — 60 changes</summary>" in folded
    assert explain_markdown.MORE_ROWS.format(count=10) in folded  # first 50 of 60 rows
    assert "`IfNotPresent` → `Always`" in folded

    rows_cut = collapsed(len(folded) - 1)
    assert explain_markdown.MORE_ROWS.format(count=40) in rows_cut  # first 20

    files_only = collapsed(5500)
    assert "| Line |" not in files_only
    assert "- `deploy/big.yaml` — 60 changes" in files_only
    assert "- `deploy/kind.yaml` — 1 change (1 `Never`)" in files_only
    assert explain_markdown.WHY_ALWAYS in files_only
    assert_golden("body_files_only.md", files_only)


def test_smallest_bodies_drop_prose_then_everything_but_the_marker() -> None:
    marker = render_marker(VERSION, (f.fingerprint for f in collapse_findings()))
    bare = collapsed(3000)
    assert len(marker) < 2000
    assert explain_markdown.WHY_ALWAYS not in bare
    assert "- `deploy/big.yaml` — 60 changes" in bare
    assert bare.startswith(explain_markdown.HEADING)
    assert explain_markdown.DECLINE_NOTE in bare
    assert collapsed(len(marker)) == marker
    assert collapsed(len(marker) + 10) == marker


def test_marker_longer_than_the_limit_is_an_error() -> None:
    marker = render_marker(VERSION, (f.fingerprint for f in sample_findings()))
    with pytest.raises(ValueError, match="marker"):
        sample_body(limit=len(marker) - 1)


def test_five_thousand_findings_do_not_fit_github_limit_with_a_full_marker() -> None:
    # 5,000 fingerprints of 16 hex digits need 95,000 characters in the marker alone: more than
    # GitHub's 65,536. The body refuses rather than drop fingerprints (see the module report).
    findings = many_findings(5000, per_file=20)
    assert len(render_marker(VERSION, (f.fingerprint for f in findings))) > 65536
    with pytest.raises(ValueError, match="marker"):
        pr_body(findings, version=VERSION, limit=65536)


@pytest.mark.parametrize(("count", "limit"), [(3000, 65536), (5000, 131072), (5000, 1_000_000)])
def test_thousands_of_findings_collapse_to_fit(count: int, limit: int) -> None:
    findings = many_findings(count, per_file=20)
    body = pr_body(
        findings,
        exempted=sample_exempted() * 300,
        skipped=SAMPLE_SKIPPED * 200,
        version=VERSION,
        limit=limit,
    )
    assert len(body) <= limit
    assert parse_marker(body) == (VERSION, frozenset(f.fingerprint for f in findings))
    assert body.startswith(explain_markdown.HEADING)
    assert f"on {count} containers in {count // 20} files" in body
    assert explain_markdown.DECLINE_NOTE in body


# --- marker and digest --------------------------------------------------------------------


def test_marker_format_is_compact_sorted_json_in_an_html_comment() -> None:
    assert render_marker("1.2.3", ["bb", "aa", "bb"]) == (
        '<!-- pullpolicy:v1 {"version":"1.2.3","fingerprints":["aa","bb"]} -->'
    )


@given(
    version=st.text(max_size=20),
    fingerprints=st.frozensets(st.text(max_size=20), max_size=10),
    before=st.text(max_size=50),
)
def test_marker_round_trips(version: str, fingerprints: frozenset[str], before: str) -> None:
    body = before + "\n\n" + render_marker(version, fingerprints)
    assert parse_marker(body) == (version, fingerprints)


def test_the_last_marker_wins() -> None:
    body = f"{render_marker('0.0.1', ['old'])}\ntext\n{render_marker('0.0.2', ['new'])}\n"
    assert parse_marker(body) == ("0.0.2", frozenset({"new"}))


@pytest.mark.parametrize(
    "body",
    [
        "",
        "no marker here",
        "<!-- pullpolicy:v1 {not json} -->",
        '<!-- pullpolicy:v1 {"version":"1","fingerprints":["a"]}',  # unterminated
        '<!-- pullpolicy:v1 ["1",["a"]] -->',
        '<!-- pullpolicy:v1 {"version":1,"fingerprints":["a"]} -->',
        '<!-- pullpolicy:v1 {"version":"1","fingerprints":"a"} -->',
        '<!-- pullpolicy:v1 {"version":"1","fingerprints":[1]} -->',
        '<!-- pullpolicy:v1 {"fingerprints":["a"]} -->',
        '<!-- pullpolicy:v2 {"version":"1","fingerprints":["a"]} -->',
    ],
)
def test_parse_marker_rejects_absent_or_malformed(body: str) -> None:
    assert parse_marker(body) is None


def test_body_digest() -> None:
    body = sample_body()
    assert body_digest(body) == hashlib.sha256(body.encode("utf-8")).hexdigest()
    assert body_digest(body) == body_digest(body.replace("\n", "\r\n"))  # forge-stored CRLF
    assert body_digest(body) != body_digest(body.replace("Always", "Alway", 1))


# --- reports for CI and terminals ---------------------------------------------------------


def sample_reports() -> list[FileReport]:
    by_path: dict[str, list[Finding]] = {}
    for finding in sample_findings():
        by_path.setdefault(finding.path, []).append(finding)
    unfixable = make("deploy/anchors.yaml", 9, name="anchored")
    return [
        *(FileReport(path=path, findings=tuple(found)) for path, found in by_path.items()),
        FileReport(path="deploy/db.yaml", exempted=tuple(sample_exempted())),
        FileReport(
            path="deploy/anchors.yaml",
            findings=(unfixable,),
            unfixable=((unfixable, "guard: merge key shared by two containers"),),
        ),
        FileReport(path="broken.yaml", skipped="duplicate mapping key 'image' at line 4"),
        FileReport(path="ok.yaml"),
    ]


def test_text_report_lines() -> None:
    report = text_report(sample_reports())
    lines = report.splitlines()
    assert (
        "deploy/web.yaml:12:9: Deployment/web container 'app' (nginx:1.25):"
        " imagePullPolicy is IfNotPresent, want Always"
    ) in lines
    assert (
        "deploy/web.yaml:30:9: Deployment/web container 'init' (busybox):"
        " imagePullPolicy is missing, want Always"
    ) in lines
    assert (
        "charts/app/values.yaml:7:15: Helm value 'image.pullPolicy':"
        " imagePullPolicy is IfNotPresent, want Always"
    ) in lines
    assert lines[-2] == "broken.yaml: skipped: duplicate mapping key 'image' at line 4"
    assert lines[-1] == "8 findings in 7 files (9 files checked, 1 exempted, 1 file skipped)"
    assert any(
        line.endswith("(not fixed: guard: merge key shared by two containers)") for line in lines
    )
    assert "\x1b" not in report and "<script>alert(1)</script>@sha256" in report
    assert_golden("text_report.txt", report)


def test_text_report_without_findings() -> None:
    assert text_report([FileReport(path="ok.yaml")]) == "0 findings in 0 files (1 file checked)\n"


def test_github_annotations_escape_data_and_properties() -> None:
    finding = make("dir,with:odd%chars.yaml", 3, column=5, image="img\r\n%25")
    [command] = github_annotations([FileReport(path=finding.path, findings=(finding,))])
    header, message = command.split("::", 2)[1:]
    assert header == (
        "warning file=dir%2Cwith%3Aodd%25chars.yaml,line=3,col=5,"
        "title=imagePullPolicy is not Always"
    )
    # one_line has already made \r\n visible; % is escaped for the runner.
    assert message == (
        "Deployment/web container 'app' (img\\r\\n%2525):"
        " imagePullPolicy is IfNotPresent, want Always"
    )


def test_github_annotations_levels_and_skipped_files() -> None:
    commands = github_annotations(sample_reports())
    assert len(commands) == 9  # 8 findings + 1 skipped file
    assert all("\n" not in command and "\r" not in command for command in commands)
    assert (
        "::warning file=broken.yaml,title=pullpolicy skipped this file::"
        "duplicate mapping key 'image' at line 4"
    ) in commands
    latest = next(command for command in commands if "latest.yaml" in command)
    assert latest.startswith("::notice file=deploy/latest.yaml,line=3,col=9,")
    assert_golden("annotations.txt", "\n".join(commands) + "\n")


def test_annotation_message_escaping_of_raw_newlines() -> None:
    assert explain._escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert explain._escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


# --- SARIF --------------------------------------------------------------------------------


def sarif_log() -> dict[str, Any]:
    log = sarif.sarif(sample_reports(), version=VERSION)
    plain: dict[str, Any] = json.loads(json.dumps(log))  # plain JSON, no tuples or enums
    return plain


def test_sarif_log_structure() -> None:
    log = sarif_log()
    assert log["version"] == "2.1.0"
    assert log["$schema"] == sarif.SARIF_SCHEMA
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "pullpolicy"
    assert driver["version"] == VERSION
    [rule] = driver["rules"]
    assert rule["id"] == "PP001"
    assert rule["helpUri"] == "https://github.com/pullpolicy/pullpolicy#why-always"
    assert rule["help"]["text"] == sarif.RULE_HELP
    assert rule["shortDescription"]["text"] == sarif.RULE_SHORT
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is True
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["message"]["text"] == (
        "File skipped: duplicate mapping key 'image' at line 4"
    )
    location = notification["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "broken.yaml"


def test_sarif_results() -> None:
    results = sarif_log()["runs"][0]["results"]
    assert len(results) == 8  # the unfixable finding is listed once
    by_fp = {result["partialFingerprints"]["pullpolicy/v1"]: result for result in results}
    web = by_fp[make("deploy/web.yaml", 12).fingerprint]
    assert web["ruleId"] == "PP001" and web["ruleIndex"] == 0
    assert web["level"] == "warning"
    assert web["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "deploy/web.yaml"},
                "region": {"startLine": 12, "startColumn": 9},
            }
        }
    ]
    assert web["message"]["text"] == (
        "Deployment/web container 'app' (nginx:1.25): imagePullPolicy is IfNotPresent, want Always"
    )
    latest = by_fp[make("deploy/latest.yaml", 3).fingerprint]
    assert latest["level"] == "note"
    evil = next(
        r
        for r in results
        if "evil" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    )
    assert evil["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "odd%7Cdir/evil.yaml"
    )


def test_sarif_required_properties_per_schema() -> None:
    """The properties SARIF 2.1.0 marks required, on every object we emit (the log was also
    validated once against the official schema; see the task report)."""
    log = sarif_log()
    assert {"version", "runs"} <= log.keys()
    for run in log["runs"]:
        assert "driver" in run["tool"] and "name" in run["tool"]["driver"]
        for rule in run["tool"]["driver"]["rules"]:
            assert "id" in rule
        for result in run["results"]:
            assert "text" in result["message"]
            assert result["level"] in {"none", "note", "warning", "error"}
            region = result["locations"][0]["physicalLocation"]["region"]
            assert region["startLine"] >= 1 and region["startColumn"] >= 1
        for invocation in run["invocations"]:
            assert "executionSuccessful" in invocation
            for notification in invocation["toolExecutionNotifications"]:
                assert "text" in notification["message"]
    assert_golden("sarif.json", json.dumps(log, indent=2, ensure_ascii=False) + "\n")


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("a/b.yaml", "a/b.yaml"),
        ("dir with space/x.yaml", "dir%20with%20space/x.yaml"),
        ("a#b%c?.yaml", "a%23b%25c%3F.yaml"),
        ("ünï.yaml", "%C3%BCn%C3%AF.yaml"),
    ],
)
def test_artifact_uri_percent_encodes(path: str, uri: str) -> None:
    assert sarif.artifact_uri(path) == uri


def test_body_lists_charts_and_kustomizations_in_their_own_sections() -> None:
    charts = [
        Verification("kustomization", "overlays/prod", True, before=3, after=0),
        Verification("chart", "charts/web", True, before=1, after=0),
        Verification("kustomization", "overlays/dev", False, "remote base x not fetched"),
    ]
    body = pr_body([make()], version=VERSION, charts=charts)
    charts_at = body.index("### Rendered charts")
    kustomizations_at = body.index("### Rendered kustomizations")
    assert charts_at < body.index("- chart `charts/web` — verified") < kustomizations_at
    section = body[kustomizations_at:]
    assert "- kustomization `overlays/prod` — verified: rendered before (3 not `Always`)" in section
    assert (
        "- kustomization `overlays/dev` — **not verified**: `remote base x not fetched`" in section
    )
    assert body.count("- chart ") == 1 and body.count("- kustomization ") == 2
