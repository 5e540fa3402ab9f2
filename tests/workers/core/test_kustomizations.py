"""Finding kustomizations and the files each one reads, from the kustomization files alone."""

from __future__ import annotations

import pytest

from workers.core.kustomizations import (
    BadKustomization,
    closure,
    is_remote,
    kustomization_dirs,
    resolve,
)

OVERLAY = """\
resources:
  - ../base
  - extra.yaml
  - https://github.com/example/app//config?ref=v1
components:
  - ../components/debug
patchesStrategicMerge:
  - smp.yaml
  - |-
    kind: Deployment
    metadata: {name: inline}
patches:
  - path: patch.yaml
  - patch: |-
      - op: remove
        path: /spec/replicas
patchesJson6902:
  - target: {kind: Deployment, name: web}
    path: ops.json
configMapGenerator:
  - name: settings
    files: [app.conf, key=renamed.conf]
    envs: [params.env]
secretGenerator:
  - name: secret
    env: secret.env
replacements:
  - path: replacements.yaml
openapi:
  path: schema.json
configurations: [names.yaml]
"""

FILES = {
    "base/kustomization.yml": "resources: [deployment.yaml]\n",
    "base/deployment.yaml": "",
    "components/debug/Kustomization": "kind: Component\nresources: [debug.yaml]\n",
    "components/debug/debug.yaml": "",
    "overlay/kustomization.yaml": OVERLAY,
    **{
        f"overlay/{name}": ""
        for name in [
            "extra.yaml",
            "smp.yaml",
            "patch.yaml",
            "ops.json",
            "app.conf",
            "renamed.conf",
            "params.env",
            "secret.env",
            "replacements.yaml",
            "schema.json",
            "names.yaml",
        ]
    },
    "overlay/unrelated.yaml": "",
    "README.md": "",
}


def read(path: str) -> bytes:
    return FILES[path].encode()


def test_kustomization_directories_are_found_by_every_file_name() -> None:
    assert kustomization_dirs(FILES) == ["base", "components/debug", "overlay"]
    assert kustomization_dirs(["kustomization.yaml", "a/b.yaml"]) == [""]


def test_the_closure_holds_every_file_read_and_bases_first() -> None:
    found = closure("overlay", frozenset(FILES), read)
    assert found.kustomizations == (
        "base/kustomization.yml",
        "components/debug/Kustomization",
        "overlay/kustomization.yaml",
    )
    expected = {
        "base/deployment.yaml",
        "components/debug/debug.yaml",
        *(p for p in FILES if p.startswith("overlay/") and p != "overlay/kustomization.yaml"),
    } - {"overlay/unrelated.yaml"}
    assert set(found.files) == expected
    assert found.remote == ("https://github.com/example/app//config?ref=v1",)
    assert found.missing == ()


def test_missing_files_and_paths_out_of_the_repository_are_named() -> None:
    files = {"k/kustomization.yaml": "resources: [gone.yaml, ../../up.yaml, /abs.yaml]\n"}
    found = closure("k", frozenset(files), lambda path: files[path].encode())
    assert found.missing == ("../../up.yaml", "/abs.yaml", "k/gone.yaml")


def test_a_kustomization_that_is_not_a_mapping_is_refused() -> None:
    files = {"k/kustomization.yaml": "- resources\n"}
    with pytest.raises(BadKustomization, match="not a mapping"):
        closure("k", frozenset(files), lambda path: files[path].encode())


@pytest.mark.parametrize(
    ("entry", "remote"),
    [
        ("https://github.com/a/b//c?ref=v1", True),
        ("git@github.com:a/b.git", True),
        ("ssh://git@example.org/a/b", True),
        ("github.com/a/b/c?ref=main", True),
        ("../base", False),
        ("deployment.yaml", False),
        ("config.io", False),
    ],
)
def test_remote_bases_are_recognised(entry: str, remote: bool) -> None:
    assert is_remote(entry) is remote


def test_resolve_stays_inside_the_repository() -> None:
    assert resolve("a/b", "../c.yaml") == "a/c.yaml"
    assert resolve("a", "..") == ""
    assert resolve("a", "../..") is None
    assert resolve("a", "/etc/passwd") is None
