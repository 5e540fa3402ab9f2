"""We eat our own cooking: the bot's own Kubernetes manifests pass `pullpolicy check`."""

from __future__ import annotations

from tests.deploy.artefacts import DEPLOY, KUBERNETES_DIR
from workers.cli.main import main
from workers.config.model import Config
from workers.core.manifest import check_manifest

MANIFESTS = KUBERNETES_DIR / "pullpolicy.yaml"


def test_pullpolicy_check_deploy_is_clean() -> None:
    assert main(["check", str(DEPLOY)]) == 0


def test_every_container_of_the_deploy_manifests_is_seen() -> None:
    # Without their policy lines the same manifests must show one finding per container, so a
    # clean check above means "all Always", not "nothing recognised".
    text = MANIFESTS.read_text()
    stripped = "".join(
        line for line in text.splitlines(keepends=True) if "imagePullPolicy: Always" not in line
    )
    report = check_manifest("pullpolicy.yaml", stripped.encode(), Config())
    assert report.skipped is None
    assert sorted(f.container for f in report.findings) == ["redis", "web", "worker"]
    assert text.count("imagePullPolicy: Always") == 3
