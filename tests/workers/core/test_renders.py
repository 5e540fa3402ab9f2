"""The render comparison that decides whether a chart or overlay fix stands."""

from __future__ import annotations

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
