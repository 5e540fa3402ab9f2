"""The fake's GraphQL `updateRefs`: a compare-and-swap on refs, all updates or none."""

from __future__ import annotations

from typing import Any

from tests.fakeforge import FakeForge
from tests.fakeforge.store import ZERO_SHA
from tests.fakeforge_selftest.helpers import REPO, TOKEN, HttpResult, http, seeded
from workers.forge import github_blobs
from workers.forge.github_git import UPDATE_REFS_PREVIEW

MUTATION = "mutation($repositoryId: ID!, $refUpdates: [RefUpdate!]!) { updateRefs(...) }"
PREVIEW = {"Accept": UPDATE_REFS_PREVIEW}


def update_refs(forge: FakeForge, *updates: dict[str, Any]) -> HttpResult:
    repository = http("GET", f"{forge.github_api_url}/repos/{REPO}", token=TOKEN).json()
    variables = {"repositoryId": repository["node_id"], "refUpdates": list(updates)}
    body = {"query": MUTATION, "variables": variables}
    return http("POST", f"{forge.url}/api/graphql", token=TOKEN, body=body, headers=PREVIEW)


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


def test_update_refs_needs_its_schema_preview(fake_forge: FakeForge) -> None:
    main = seeded(fake_forge)
    repository = http("GET", f"{fake_forge.github_api_url}/repos/{REPO}", token=TOKEN).json()
    update = ref("new", ZERO_SHA, main)
    variables = {"repositoryId": repository["node_id"], "refUpdates": [update]}
    body = {"query": MUTATION, "variables": variables}
    answer = http("POST", f"{fake_forge.url}/api/graphql", token=TOKEN, body=body).json()
    assert answer["errors"] and fake_forge.branch_head(REPO, "new") is None


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
    url = f"{fake_forge.url}/api/graphql"
    answer = http("POST", url, token=TOKEN, body=body, headers=PREVIEW).json()
    assert answer["errors"][0]["type"] == "NOT_FOUND"
    assert http("POST", f"{fake_forge.url}/api/graphql", body=body).status == 401


# GitHub's schema for the fields read (docs.github.com/en/graphql/reference/objects#blob):
# byteSize: Int!, isBinary: Boolean!, isTruncated: Boolean!, text: String (null when binary).
BLOB_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "byteSize": int,
    "isBinary": bool,
    "isTruncated": bool,
    "text": (str, type(None)),
}


def read_blobs(forge: FakeForge, sha: str, paths: list[str], repo: str = REPO) -> HttpResult:
    owner, name = repo.split("/")
    query = github_blobs.blob_query(len(paths))  # the document the adapter sends
    variables = {"owner": owner, "name": name}
    variables |= {f"e{i}": f"{sha}:{path}" for i, path in enumerate(paths)}
    body = {"query": query, "variables": variables}
    return http("POST", f"{forge.url}/api/graphql", token=TOKEN, body=body)


def test_blob_reads_answer_each_alias_with_githubs_blob_fields(fake_forge: FakeForge) -> None:
    main = seeded(fake_forge)
    fake_forge.graphql_text_limit = 20
    files: dict[str, bytes | str] = {
        "bin.png": b"\x89PNG\x00\x01",
        "latin1.txt": b"caf\xe9\n",
        "long.txt": "x" * 40,
    }
    head = fake_forge.push_commit(REPO, "main", files, "more")
    paths = ["k8s/deploy.yaml", "bin.png", "latin1.txt", "long.txt", "missing.yaml", "k8s"]
    answer = read_blobs(fake_forge, head, paths)
    assert answer.status == 200 and "errors" not in answer.json()
    blobs = answer.json()["data"]["repository"]
    for blob in [b for b in blobs.values() if b is not None]:
        assert set(blob) == set(BLOB_FIELD_TYPES)
        for field, kinds in BLOB_FIELD_TYPES.items():
            assert isinstance(blob[field], kinds), (field, blob)
    deploy, binary, latin1, long, missing, tree = (blobs[f"f{i}"] for i in range(6))
    assert deploy == {
        "text": "kind: Deployment\n",
        "isBinary": False,
        "byteSize": 17,
        "isTruncated": False,
    }
    assert binary["isBinary"] and binary["text"] is None
    assert len(latin1["text"].encode()) != latin1["byteSize"]  # not UTF-8: replaced
    assert long["isTruncated"] and len(long["text"]) == 20 and long["byteSize"] == 40
    assert missing is None and tree is None  # nothing there / not a blob
    assert fake_forge.branch_head(REPO, "main") == head != main


def test_blob_reads_need_a_repository_the_caller_sees(fake_forge: FakeForge) -> None:
    main = seeded(fake_forge)
    answer = read_blobs(fake_forge, main, ["README.md"], repo="acme/secret").json()
    assert answer["data"]["repository"] is None
    assert answer["errors"][0]["type"] == "NOT_FOUND"


def test_github_gets_carry_etags_and_a_matching_one_is_a_304(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    url = f"{fake_forge.github_api_url}/repos/{REPO}/git/ref/heads/main"
    first = http("GET", url, token=TOKEN)
    etag = first.headers["etag"]
    again = http("GET", url, token=TOKEN, headers={"If-None-Match": etag})
    assert (again.status, again.body) == (304, b"")
    assert fake_forge.not_modified == 1
    fake_forge.push_commit(REPO, "main", {"new.txt": "n"}, "move main")
    moved = http("GET", url, token=TOKEN, headers={"If-None-Match": etag})
    assert moved.status == 200 and moved.headers["etag"] != etag
