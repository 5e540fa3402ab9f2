"""Fixes a person declined in a review of their pull request (a `pullpolicy: ignore` reply, or
the bot's review dismissed), carried into the repository's declined list once that pull request
merges, so the bot's own fix pull request does not propose them again.

Scope: the finding's fingerprint (file + object + container, as for a declined fix PR), from the
merge of the pull request it was declined in. Not before: anyone who can open a pull request
(from a fork too) can reply `pullpolicy: ignore`, and the decline should hold only for what a
maintainer then merged; a pull request closed unmerged declines nothing.

A review records the fingerprints as pending for its pull request; the repository's next scan
asks the forge about each pull request with pending ones (one read each, at most
`MAX_CHECKED` per scan): merged → declined for good; closed → dropped; open → still pending. The
merge's own push is such a scan, and by then the forge shows the pull request merged. Kept in
the shared state (Redis or state.sqlite): if it is lost, the fix PR proposes those fixes again
and closing it declines them the usual way.
"""

from __future__ import annotations

from collections.abc import Iterable

from workers.forge.base import ChangeRequestState, NotFound, RepoRef, ReviewForge
from workers.runtime.state import State

NAMESPACE = "review-declines"
PENDING, DECLINED, DROPPED = 0.0, 1.0, -1.0
MAX_CHECKED = 20
"""Pull requests with pending declines whose state one scan reads (oldest first)."""


def _namespace(lock_key: str) -> str:
    return f"{NAMESPACE}:{lock_key}"


def _key(number: int, fingerprint: str) -> str:
    return f"{number}:{fingerprint}"


def _split(key: str) -> tuple[int, str]:
    number, fingerprint = key.split(":", 1)
    return int(number), fingerprint


def record(state: State, lock_key: str, number: int, fingerprints: Iterable[str]) -> None:
    """The review of pull request `number` found these fingerprints declined: pending until
    it merges (a reopened pull request's dropped ones are pending again)."""
    values = {_key(number, fingerprint): PENDING for fingerprint in fingerprints}
    if values:
        state.put(_namespace(lock_key), values)


def declined(state: State, forge: ReviewForge, repo: RepoRef, lock_key: str) -> frozenset[str]:
    """The repository's fingerprints declined in reviews of merged pull requests, after
    settling the pending ones whose pull request has merged or closed since."""
    entries = state.numbers(_namespace(lock_key))
    pending = sorted({_split(key)[0] for key, value in entries.items() if value == PENDING})
    settled: dict[str, float] = {}
    for number in pending[:MAX_CHECKED]:
        outcome = _settle(forge, repo, number)
        if outcome is None:
            continue
        for key, value in entries.items():
            if value == PENDING and _split(key)[0] == number:
                settled[key] = outcome
    if settled:
        state.put(_namespace(lock_key), settled)
        entries.update(settled)
    return frozenset(_split(key)[1] for key, value in entries.items() if value == DECLINED)


def _settle(forge: ReviewForge, repo: RepoRef, number: int) -> float | None:
    try:
        request = forge.change_request(repo, number)
    except NotFound:
        return DROPPED
    if request.state == ChangeRequestState.MERGED:
        return DECLINED
    if request.state == ChangeRequestState.CLOSED:
        return DROPPED
    return None
