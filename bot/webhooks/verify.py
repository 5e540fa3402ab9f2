"""Webhook authenticity, pure and constant-time: GitHub's HMAC signature, GitLab's shared token."""

from __future__ import annotations

import hashlib
import hmac

GITHUB_SIGNATURE_PREFIX = "sha256="
_SHA256_HEX_LENGTH = 64


def github_signature(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body` signed with `secret`."""
    return GITHUB_SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_github(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when `header` is GitHub's HMAC-SHA256 of the raw `body` under `secret`."""
    if header is None or not header.startswith(GITHUB_SIGNATURE_PREFIX):
        return False
    if len(header) != len(GITHUB_SIGNATURE_PREFIX) + _SHA256_HEX_LENGTH:
        return False  # the shape is public knowledge: rejecting it early reveals nothing
    expected = github_signature(secret, body).encode("ascii")
    # Compare bytes: compare_digest refuses str with non-ASCII characters.
    return hmac.compare_digest(expected, header.lower().encode("utf-8", "replace"))


def verify_gitlab(secret: bytes, header: str | None) -> bool:
    """True when `header` (X-Gitlab-Token) equals `secret`.

    Both sides are hashed first so the comparison takes the same time whatever the lengths.
    """
    if header is None:
        return False
    presented = hashlib.sha256(header.encode("utf-8", "replace")).digest()
    return hmac.compare_digest(hashlib.sha256(secret).digest(), presented)
