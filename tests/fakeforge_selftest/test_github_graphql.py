"""The fake's GraphQL `updateRefs`: a compare-and-swap on refs, all updates or none."""

from __future__ import annotations

from typing import Any

from tests.fakeforge import FakeForge
from tests.fakeforge.store import ZERO_SHA
from tests.fakeforge_selftest.helpers import REPO, TOKEN, HttpResult, http, seeded

MUTATION = "mutation($repositoryId: ID!, $refUpdates: [RefUpdate!]!) { updateRefs(...) }"


def update_refs(forge: FakeForge, *updates: dict[str, Any]) -> HttpResult:
    repository = http("GET", f"{forge.github_api_url}/repos/{REPO}", token=TOKEN).json()
    variables = {"repositoryId": repository["node_id"], "refUpdates": list(updates)}
    body = {"query": MUTATION, "variables": variables}
    return http("POST", f"{forge.url}/api/graphql", token=TOKEN, body=body)


def ref(name: str, before: str, after: str, *, force: bool = True) -> dict[str, Any]:
    return {"name": f"refs/heads/{name}", "beforeOid": before, "afterOid": after, "force": force}


def test_update_refs_swaps_only_from_the_expected_value(fake_forge: FakeForge) -> None:
    main = seeded(fake_forge)
    ours = fake_forge.push_commit(REPO, "bot", {"a": "a"}, "ours")
    created = update_refs(fake_forge, ref("new", ZERO_SHA, main))
    assert created.status == 200 and "errors" not in created.json()
    assert fake_forge.branch_head(REPO, "new") == main
    stale = update_refs(fake_forge, ref("bot", main, main))  # bot is at `ours`, not `main`
    assert stale.status == 200 and stale.json()["errors"]
    assert fake_forge.branch_head(REPO, "bot") == ours
    assert "errors" not in update_refs(fake_forge, ref("bot", ours, main)).json()
    assert fake_forge.branch_head(REPO, "bot") == main
    assert "errors" not in update_refs(fake_forge, ref("bot", main, ZERO_SHA)).json()
    assert fake_forge.branch_head(REPO, "bot") is None


def test_update_refs_is_all_or_nothing(fake_forge: FakeForge) -> None:
    main = seeded(fake_forge)
    side = fake_forge.push_commit(REPO, "side", {"s": "s"}, "side")
    refused = update_refs(fake_forge, ref("one", ZERO_SHA, main), ref("side", main, main))
    assert refused.json()["errors"]
    assert fake_forge.branch_head(REPO, "one") is None  # rolled back
    assert fake_forge.branch_head(REPO, "side") == side


def test_update_refs_without_force_moves_only_forward(fake_forge: FakeForge) -> None:
    main = seeded(fake_forge)
    side = fake_forge.push_commit(REPO, "side", {"s": "s"}, "side")
    assert update_refs(fake_forge, ref("side", side, main, force=False)).json()["errors"]
    assert fake_forge.branch_head(REPO, "side") == side


def test_update_refs_needs_a_repository_the_caller_sees(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    body = {"query": MUTATION, "variables": {"repositoryId": "nope", "refUpdates": []}}
    answer = http("POST", f"{fake_forge.url}/api/graphql", token=TOKEN, body=body).json()
    assert answer["errors"][0]["type"] == "NOT_FOUND"
    assert http("POST", f"{fake_forge.url}/api/graphql", body=body).status == 401
