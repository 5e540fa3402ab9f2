"""Kustomizations: each non-Always rendered container is reported and fixed at the file that
decides it, and a fix stands only if every render that reads the file changes nothing else.
The engine is a fake here (tests/workers/render runs the same trees through kubectl)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tests.kustomize_scenarios import (
    BASE,
    BASE_DECIDES,
    DEPLOYMENT,
    INLINE_SMP,
    JSON_REPLACE,
    SCENARIOS,
    SMP_FILE,
    Scenario,
    fake_render,
)
from workers.config.model import Config
from workers.core.findings import FileReport, Source
from workers.core.manifest import check_manifest
from workers.core.overlays import check_kustomizations
from workers.core.renders import Render, RenderFailed, Verification


def run(
    files: Mapping[str, str],
    render: Render,
    *,
    fix: bool,
    declined: frozenset[str] = frozenset(),
    current: Mapping[str, bytes] | None = None,
) -> tuple[list[FileReport], dict[str, Verification]]:
    original = {path: text.encode() for path, text in files.items()}
    now = current if current is not None else original
    reports, verifications = check_kustomizations(
        sorted(files), now.__getitem__, original.__getitem__, render, Config(), fix=fix,
        declined=declined,
    )  # fmt: skip
    return reports, {v.root: v for v in verifications}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_a_finding_is_reported_where_the_policy_is_decided(scenario: Scenario) -> None:
    reports, verifications = run(scenario.files, fake_render(scenario), fix=False)
    assert [report.path for report in reports] == [scenario.path]
    (finding,) = reports[0].findings
    assert (finding.line, finding.column) == (scenario.line, scenario.column)
    assert finding.source is scenario.source
    assert finding.rendered_in == "overlay"
    assert (finding.kind, finding.container, finding.current) == (
        "Deployment",
        scenario.container,
        scenario.current,
    )
    assert reports[0].fixed is None
    assert verifications["overlay"] == Verification("kustomization", "overlay", True, None, 1, 1)
    assert verifications["base"] == Verification("kustomization", "base", True, None, 0, 0)


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_the_fix_edits_only_that_line_and_is_verified_by_rendering_again(
    scenario: Scenario,
) -> None:
    reports, verifications = run(scenario.files, fake_render(scenario), fix=True)
    (report,) = reports
    assert report.fixed is not None and report.fixed.decode() == scenario.fixed
    assert report.unfixable == ()
    assert verifications["overlay"] == Verification("kustomization", "overlay", True, None, 1, 0)


def test_the_fingerprint_does_not_move_with_lines() -> None:
    before, _ = run(SMP_FILE.files, fake_render(SMP_FILE), fix=False)
    moved_text = "# the overlay's policy\n" + SMP_FILE.files[SMP_FILE.path]
    moved = Scenario(
        {**SMP_FILE.files, SMP_FILE.path: moved_text}, SMP_FILE.path, SMP_FILE.line + 1,
        SMP_FILE.column, SMP_FILE.source, SMP_FILE.container, SMP_FILE.current,
        "# the overlay's policy\n" + SMP_FILE.fixed,
    )  # fmt: skip
    after, _ = run(moved.files, fake_render(moved), fix=False)
    assert before[0].findings[0].line != after[0].findings[0].line
    assert before[0].findings[0].fingerprint == after[0].findings[0].fingerprint


def test_a_declined_finding_is_exempted_and_left_alone() -> None:
    first, _ = run(JSON_REPLACE.files, fake_render(JSON_REPLACE), fix=False)
    declined = frozenset({first[0].findings[0].fingerprint})
    reports, _ = run(JSON_REPLACE.files, fake_render(JSON_REPLACE), fix=True, declined=declined)
    (report,) = reports
    assert report.findings == () and report.fixed is None
    assert [exempt.finding.fingerprint for exempt in report.exempted] == sorted(declined)


def test_a_fix_that_changes_the_render_beyond_policies_is_dropped_with_the_reason() -> None:
    fake = fake_render(INLINE_SMP)

    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        rendered = fake(files, root)
        if root == "overlay" and b'"Always"' in files[INLINE_SMP.path]:
            rendered[root] = rendered[root].replace("replicas: 1", "replicas: 2")
        return rendered

    reports, verifications = run(INLINE_SMP.files, render, fix=True)
    (report,) = reports
    assert report.fixed is None
    ((finding, reason),) = report.unfixable
    assert finding == report.findings[0]
    assert "fix dropped" in reason and "spec.replicas changed beyond pull policies" in reason
    overlay = verifications["overlay"]
    assert overlay.verified and overlay.after == 1
    assert overlay.reason is not None and "replicas" in overlay.reason


def test_the_base_resource_is_left_to_the_manifest_scan_and_the_render_verifies_its_fix() -> None:
    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        return {root: files["base/deployment.yaml"].decode()}

    original = {path: text.encode() for path, text in BASE_DECIDES.items()}
    plain = check_manifest(
        "base/deployment.yaml", original["base/deployment.yaml"], Config(), fix=True
    )
    assert plain.fixed is not None
    current = {**original, "base/deployment.yaml": plain.fixed}
    checked, before_fix = run(BASE_DECIDES, render, fix=False)
    fixed, after_fix = run(BASE_DECIDES, render, fix=True, current=current)
    assert checked == [] and fixed == []  # no duplicate of the manifest scan's finding
    assert before_fix["overlay"] == Verification("kustomization", "overlay", True, None, 1, 1)
    assert after_fix["overlay"] == Verification("kustomization", "overlay", True, None, 1, 0)


def test_a_remote_base_is_not_verified_and_never_rendered() -> None:
    files = {
        "prod/kustomization.yaml": (
            "resources:\n  - https://github.com/example/app//config/default?ref=v1.0.0\n"
        )
    }

    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        raise AssertionError("a remote base must not reach the engine")

    reports, verifications = run(files, render, fix=True)
    assert reports == []
    reason = "remote base https://github.com/example/app//config/default?ref=v1.0.0 not fetched"
    assert verifications["prod"] == Verification("kustomization", "prod", False, reason)


def test_a_kustomization_that_does_not_render_says_why() -> None:
    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        raise RenderFailed("no matches for Id Deployment.v1.apps/web")

    reports, verifications = run(SMP_FILE.files, render, fix=True)
    assert reports == []
    overlay = verifications["overlay"]
    assert not overlay.verified
    assert overlay.reason == "does not render: no matches for Id Deployment.v1.apps/web"


def test_only_the_closure_of_a_kustomization_reaches_the_engine() -> None:
    seen: dict[str, set[str]] = {}

    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        seen[root] = set(files)
        return {root: DEPLOYMENT}

    files = {**SMP_FILE.files, "overlay/unrelated.yaml": "kind: ConfigMap\n", "README.md": "x"}
    run(files, render, fix=False)
    assert seen["base"] == {"base/kustomization.yaml", "base/deployment.yaml"}
    assert seen["overlay"] == {*seen["base"], "overlay/kustomization.yaml", "overlay/policy.yaml"}


def test_a_patch_shared_by_several_kustomizations_is_one_finding_fixed_once() -> None:
    files = {
        **{path.replace("overlay/", "shared/"): text for path, text in JSON_REPLACE.files.items()},
        "dev/kustomization.yaml": "resources: [../shared]\nnamePrefix: dev-\n",
        "prod/kustomization.yaml": "resources: [../shared]\nnamePrefix: prod-\n",
    }

    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        policy = "Always" if root == "base" else files["shared/ops.yaml"].decode().split()[-1]
        return {root: DEPLOYMENT.replace("imagePullPolicy: Always", f"imagePullPolicy: {policy}")}

    checked, _ = run(files, render, fix=False)
    assert [(r.path, [f.rendered_in for f in r.findings]) for r in checked] == [
        ("shared/ops.yaml", ["dev"])
    ]
    fixed, verifications = run(files, render, fix=True)
    (report,) = fixed
    assert report.fixed is not None and report.fixed.endswith(b"  value: Always\n")
    for root in ("dev", "prod", "shared"):
        assert verifications[root] == Verification("kustomization", root, True, None, 1, 0)


@pytest.mark.parametrize(
    "comment",
    [
        "  value: IfNotPresent  # pullpolicy: ignore\n",
        "  # pullpolicy: ignore\n  value: IfNotPresent\n",
    ],
)
def test_an_ignore_comment_at_the_patch_exempts_it(comment: str) -> None:
    text = JSON_REPLACE.files[JSON_REPLACE.path].replace("  value: IfNotPresent\n", comment)
    scenario = Scenario(
        {**JSON_REPLACE.files, JSON_REPLACE.path: text}, JSON_REPLACE.path, 0, 0,
        JSON_REPLACE.source, "app", "IfNotPresent", "",
    )  # fmt: skip
    reports, _ = run(scenario.files, fake_render(scenario), fix=True)
    (report,) = reports
    assert report.findings == () and report.fixed is None
    assert [exempt.reason for exempt in report.exempted] == ["comment # pullpolicy: ignore"]


def test_an_excluded_kustomization_is_neither_rendered_nor_listed() -> None:
    rendered: list[str] = []

    def render(files: Mapping[str, bytes], root: str) -> dict[str, str]:
        rendered.append(root)
        return fake_render(SMP_FILE)(files, root)

    config = Config.model_validate({"paths": {"exclude": ["overlay/**"]}})
    files = {path: text.encode() for path, text in SMP_FILE.files.items()}
    reports, verifications = check_kustomizations(
        sorted(files), files.__getitem__, files.__getitem__, render, config, fix=True
    )
    assert reports == []
    assert [v.root for v in verifications] == ["base"]
    assert set(rendered) == {"base"}


def test_a_patch_file_the_manifest_scan_already_reports_gets_no_second_finding() -> None:
    text = SMP_FILE.files[SMP_FILE.path].replace(
        "        - name: app\n", "        - name: app\n          image: nginx:1.28\n"
    )
    assert check_manifest(SMP_FILE.path, text.encode(), Config()).findings  # the plain scan's
    scenario = Scenario(
        {**SMP_FILE.files, SMP_FILE.path: text}, SMP_FILE.path, 0, 0, SMP_FILE.source, "app",
        "IfNotPresent", "",
    )  # fmt: skip
    reports, verifications = run(scenario.files, fake_render(scenario), fix=False)
    assert reports == []
    assert verifications["overlay"].before == 1


def test_an_inline_patch_in_patches_strategic_merge_is_found_in_its_block() -> None:
    kustomization = (
        "resources: [../base]\npatchesStrategicMerge:\n- |-\n  apiVersion: apps/v1\n"
        "  kind: Deployment\n  metadata:\n    name: web\n  spec:\n    template:\n      spec:\n"
        "        containers:\n        - name: app\n          imagePullPolicy: IfNotPresent\n"
    )
    scenario = Scenario(
        {**BASE, "overlay/kustomization.yaml": kustomization}, "overlay/kustomization.yaml",
        13, 28, Source.KUSTOMIZE_PATCH, "app", "IfNotPresent",
        kustomization.replace("IfNotPresent", "Always"),
    )  # fmt: skip
    reports, _ = run(scenario.files, fake_render(scenario), fix=True)
    (report,) = reports
    assert [(f.line, f.column, f.source) for f in report.findings] == [
        (13, 28, Source.KUSTOMIZE_PATCH)
    ]
    assert report.fixed is not None and report.fixed.decode() == scenario.fixed
