"""bot.webhooks.verify: GitHub's HMAC-SHA256 signature and GitLab's token, and ways to get
them wrong."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.webhooks.verify import github_signature, verify_github, verify_gitlab

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"
# The worked example from GitHub's "Validating webhook deliveries" documentation.
GITHUB_DOCUMENTED_SIGNATURE = (
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)


def test_signature_matches_githubs_documented_example() -> None:
    assert github_signature(SECRET, BODY) == GITHUB_DOCUMENTED_SIGNATURE
    assert verify_github(SECRET, BODY, GITHUB_DOCUMENTED_SIGNATURE)


def test_signature_is_an_hmac_of_the_exact_body() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert verify_github(SECRET, body, expected)


def test_uppercase_hex_is_accepted() -> None:
    signature = github_signature(SECRET, BODY)
    assert verify_github(SECRET, BODY, "sha256=" + signature.removeprefix("sha256=").upper())


def test_tampered_body_is_rejected() -> None:
    assert not verify_github(SECRET, BODY + b" ", github_signature(SECRET, BODY))
    assert not verify_github(SECRET, b"Hello, World?", github_signature(SECRET, BODY))


def test_wrong_secret_is_rejected() -> None:
    assert not verify_github(SECRET, BODY, github_signature(b"another secret", BODY))


def test_missing_header_is_rejected() -> None:
    assert not verify_github(SECRET, BODY, None)
    assert not verify_github(SECRET, BODY, "")


@pytest.mark.parametrize(
    "header",
    [
        GITHUB_DOCUMENTED_SIGNATURE.removeprefix("sha256="),  # no algorithm prefix
        "sha1=" + hmac.new(SECRET, BODY, hashlib.sha1).hexdigest(),  # the legacy header's format
        GITHUB_DOCUMENTED_SIGNATURE[:-1],  # truncated
        GITHUB_DOCUMENTED_SIGNATURE + "0",  # too long
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "é" * 64,  # not ASCII: must not raise
        " " + GITHUB_DOCUMENTED_SIGNATURE,
    ],
)
def test_malformed_header_is_rejected(header: str) -> None:
    assert not verify_github(SECRET, BODY, header)


def test_gitlab_token_must_match_exactly() -> None:
    assert verify_gitlab(SECRET, SECRET.decode())
    assert not verify_gitlab(SECRET, SECRET.decode() + " ")
    assert not verify_gitlab(SECRET, SECRET.decode()[:-1])
    assert not verify_gitlab(SECRET, "another secret")
    assert not verify_gitlab(SECRET, "")
    assert not verify_gitlab(SECRET, None)
    assert not verify_gitlab(SECRET, "é")


def test_comparisons_are_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_github(SECRET, BODY, GITHUB_DOCUMENTED_SIGNATURE)
    assert not verify_gitlab(SECRET, "nope")
    assert len(calls) == 2


def test_a_header_that_is_not_encodable_is_refused_not_a_crash() -> None:
    # Lone surrogates cannot be encoded as UTF-8: refused like any wrong value (mutation tests).
    odd = "\ud800" * 64
    assert verify_github(b"secret", b"{}", "sha256=" + odd) is False
    assert verify_gitlab(b"secret", odd) is False
