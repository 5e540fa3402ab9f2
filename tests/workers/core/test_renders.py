"""The render comparison that decides whether a chart or overlay fix stands."""

from __future__ import annotations

import pytest

from workers.config.model import Config
from workers.core.renders import difference, rendered_findings

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
{policy}          env:
            - name: RELATED_IMAGE_PULL_POLICY
              value: {env}
"""


def render(
    policy: str | None = "IfNotPresent", env: str = "IfNotPresent", replicas: int = 1
) -> dict[str, str]:
    line = "" if policy is None else f"          imagePullPolicy: {policy}\n"
    return {"templates/deployment.yaml": DEPLOYMENT.format(policy=line, env=env, replicas=replicas)}


def test_moving_every_pull_policy_to_always_is_the_only_allowed_change() -> None:
    assert difference(render(), render("Always", "Always"), Config()) is None
    assert difference(render(None), render("Always"), Config()) is None


def test_any_other_change_is_named() -> None:
    reason = difference(render(), render("Always", replicas=2), Config())
    assert reason == "templates/deployment.yaml[0].spec.replicas changed beyond pull policies"


def test_outputs_added_or_removed_are_refused() -> None:
    after = {**render("Always"), "templates/extra.yaml": "kind: ConfigMap\n"}
    reason = difference(render(), after, Config())
    assert reason is not None and "templates/extra.yaml" in reason


def test_a_policy_moving_away_from_always_is_refused() -> None:
    reason = difference(render("Always"), render("IfNotPresent"), Config())
    assert reason is not None and "imagePullPolicy moved away from Always" in reason
    reason = difference(render("Always", "Always"), render("Always", "Never"), Config())
    assert reason is not None and "env[0] moved away from Always" in reason


def test_a_policy_removed_from_an_always_container_is_refused() -> None:
    reason = difference(render("Always"), render(None), Config())
    assert reason is not None and "moved away from Always" in reason


def test_an_env_var_named_like_a_policy_but_carrying_something_else_is_compared() -> None:
    reason = difference(render(env="some-text"), render("Always", env="Always"), Config())
    assert reason is not None and "env[0].value" in reason


def test_rendered_findings_are_the_manifest_findings_of_the_output() -> None:
    findings = rendered_findings(render(), Config())
    assert [(f.path, f.container, f.current) for f in findings] == [
        ("templates/deployment.yaml", "web", "IfNotPresent")
    ]
    assert rendered_findings(render("Always"), Config()) == []


# --- found by mutation testing (docs/mutation.md) -------------------------------------------


def test_a_removed_output_is_named() -> None:
    reason = difference(
        {**render(), "templates/extra.yaml": "kind: ConfigMap\n"}, render(), Config()
    )
    assert reason == "the render's outputs changed (added [], removed ['templates/extra.yaml'])"


def test_a_policy_moving_away_from_always_is_named_by_its_path() -> None:
    reason = difference(render("Always"), render("IfNotPresent"), Config())
    where = "templates/deployment.yaml[0].spec.template.spec.containers[0].imagePullPolicy"
    assert reason == f"{where} moved away from Always"


def test_a_policy_env_var_already_always_may_stay_always() -> None:
    assert difference(render(env="Always"), render("Always", env="Always"), Config()) is None


def test_an_added_or_removed_field_is_named() -> None:
    labelled = {
        name: text.replace("metadata: {name: web}", "metadata: {name: web, labels: {a: b}}")
        for name, text in render().items()
    }
    where = "templates/deployment.yaml[0].metadata.labels"
    assert difference(render(), labelled, Config()) == f"{where} changed beyond pull policies"
    assert difference(labelled, render(), Config()) == f"{where} changed beyond pull policies"


def test_mappings_with_keys_of_several_types_are_compared() -> None:
    def with_ports(http: str) -> dict[str, str]:
        extra = f"---\nkind: ConfigMap\ndata:\n  80: {http}\n  name: web\n  true: yes\n"
        return {name: text + extra for name, text in render().items()}

    assert difference(with_ports("http"), with_ports("http"), Config()) is None
    reason = difference(with_ports("http"), with_ports("web"), Config())
    assert reason == "templates/deployment.yaml[1].data.80 changed beyond pull policies"


def test_an_env_var_rewritten_to_the_comparisons_placeholder_is_still_a_change() -> None:
    # The blinded value is no text a render can hold: "<policy>" was, and passed as unchanged.
    reason = difference(render(), render("Always", env="<policy>"), Config())
    assert (
        reason == "templates/deployment.yaml[0].spec.template.spec.containers[0].env[0].value"
        " changed beyond pull policies"
    )


def test_a_container_whose_ignore_comment_is_gone_from_the_render_is_refused() -> None:
    # Comments are no part of the objects compared, but they exempt the container: without it
    # the render has a finding it did not have.
    after = render()
    before = {
        name: text.replace("image: nginx:1.27", "image: nginx:1.27  # pullpolicy: ignore")
        for name, text in after.items()
    }
    reason = difference(before, after, Config())
    assert (
        reason == "templates/deployment.yaml: container 'web' of Deployment web is no longer Always"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [("IfNotPresent", "{a: 1}"), ("[Always]", "null"), ("[Always, Never]", "[Always]")],
)
def test_any_value_under_a_policy_key_is_judged_without_error(old: str, new: str) -> None:
    # Engines render whatever a template writes; the guard must answer, not raise.
    reason = difference(render(old), render(new), Config())
    assert reason is None or isinstance(reason, str)


CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: values}}
data:
  values: |-
    {{
      "global": {{
        "hub": "{hub}",
        "imagePullPolicy": {json},
        "other": 1
      }}
    }}
  config.yaml: |
    sidecar:
      pullPolicy: {yaml}
"""


def config_map(
    json: str = '""', yaml: str = "IfNotPresent", hub: str = "docker.io"
) -> dict[str, str]:
    return {"templates/cm.yaml": CONFIG_MAP.format(json=json, yaml=yaml, hub=hub)}


def test_pull_policy_lines_in_rendered_text_count_as_pull_policies() -> None:
    # istio's values ConfigMap: the chart's values rendered as JSON and YAML text.
    assert difference(config_map(), config_map('"Always"', "Always"), Config()) is None
    assert (
        difference(config_map('"Never"', "''"), config_map('"Always"', '"Always"'), Config())
        is None
    )


def test_other_text_beside_a_policy_line_is_still_compared() -> None:
    reason = difference(config_map(), config_map('"Always"', hub="quay.io"), Config())
    assert reason == "templates/cm.yaml[0].data.values changed beyond pull policies"


def test_a_policy_line_is_blind_only_to_pull_policy_values() -> None:
    # A value that is no pull policy (a template left in text, a word) is compared as it is.
    reason = difference(config_map(), config_map('"{{ .Values.policy }}"'), Config())
    assert reason == "templates/cm.yaml[0].data.values changed beyond pull policies"
    reason = difference(config_map(yaml="IfNotPresent"), config_map(yaml="Sometimes"), Config())
    assert reason == "templates/cm.yaml[0].data.config.yaml changed beyond pull policies"


def test_a_policy_line_moving_away_from_always_is_refused() -> None:
    reason = difference(config_map(yaml="Always"), config_map(yaml="IfNotPresent"), Config())
    assert reason == (
        "templates/cm.yaml[0].data.config.yaml (a pull-policy line) moved away from Always"
    )


def test_a_policy_line_rewritten_to_the_placeholder_text_is_still_a_change() -> None:
    reason = difference(config_map(yaml="IfNotPresent"), config_map(yaml="<policy>"), Config())
    assert reason == "templates/cm.yaml[0].data.config.yaml changed beyond pull policies"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a: 1\npullPolicy: Never\n", "b: 1\npullPolicy: Always\n"),  # first character
        ("pullPolicy: Never\nb: 1\n", "pullPolicy: Always\nb: 2\n"),  # after the last line
        ('pullPolicy: "Never"\n', 'pullPolicy: "Always"x\n'),  # right after the value
    ],
    ids=["first-character", "tail", "after-the-value"],
)
def test_text_around_policy_lines_is_compared_to_the_last_character(old: str, new: str) -> None:
    def text(body: str) -> dict[str, str]:
        block = "".join(f"    {line}\n" for line in body.splitlines())
        return {"cm.yaml": f"kind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  v: |\n{block}"}

    assert difference(text(old), text(new), Config()) is not None
    assert difference(text(old), text(old.replace("Never", "Always")), Config()) is None
