"""Where the deploy/ artefacts live and how to read them (plain data, no Docker needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPOSITORY_ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_FILE = DEPLOY / "compose.yaml"
KUBERNETES_DIR = DEPLOY / "kubernetes"
DEPLOY_README = DEPLOY / "README.md"
PYPROJECT = REPOSITORY_ROOT / "pyproject.toml"

# The image the bot's containers run; other images (Redis) are someone else's.
BOT_IMAGE_REPOSITORY = "ghcr.io/pullpolicy/pullpolicy"

Document = dict[str, Any]


def kubernetes_files() -> list[Path]:
    files = sorted([*KUBERNETES_DIR.glob("*.yaml"), *KUBERNETES_DIR.glob("*.yml")])
    assert files, f"no manifests under {KUBERNETES_DIR.relative_to(REPOSITORY_ROOT)}"
    return files


def kubernetes_documents() -> list[Document]:
    """Every non-empty document of every manifest file, in file order."""
    documents: list[Document] = []
    for path in kubernetes_files():
        documents.extend(load_documents(path.read_text(encoding="utf-8")))
    return documents


def load_documents(text: str) -> list[Document]:
    documents = [document for document in yaml.safe_load_all(text) if document is not None]
    for document in documents:
        assert isinstance(document, dict), f"a manifest document is not a mapping: {document!r}"
    return documents


def compose_document() -> Document:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def is_bot_image(image: str) -> bool:
    repository = image.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return repository == BOT_IMAGE_REPOSITORY
