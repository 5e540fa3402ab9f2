"""The fake's GitLab GraphQL project overview and blob ids, and the compare's diff limit, checked
against the types GitLab's GraphQL reference gives the fields read
(https://docs.gitlab.com/api/graphql/reference/#repository, #mergerequest, #repositoryblob) and
against what its REST API says of the same things."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.fakeforge import FakeForge
from tests.fakeforge_selftest.helpers import REPO, TOKEN, http, seeded
from workers.forge import gitlab_listing, gitlab_overview

MR_TYPES: dict[str, type | tuple[type, ...]] = {
    "iid": str,  # String!
    "webUrl": str,
    "state": str,  # MergeRequestState!: opened, closed, locked, merged
    "title": str,
    "description": (str, type(None)),
    "sourceBranch": str,
    "targetBranch": str,
    "diffHeadSha": (str, type(None)),
    "draft": bool,
    "sourceProjectId": (int, type(None)),
    "targetProjectId": int,
    "labels": dict,  # LabelConnection
}
PROJECT = f"/projects/{quote(REPO, safe='')}"


def graphql(forge: FakeForge, query: str, variables: dict[str, Any]) -> Any:
    url = f"{forge.gitlab_url}/api/graphql"
    body = {"query": query, "variables": variables}
    return http("POST", url, gitlab_token=TOKEN, body=body).json()


def rest(forge: FakeForge, method: str, path: str, body: Any = None) -> Any:
    url = f"{forge.gitlab_url}/api/v4{PROJECT}{path}"
    return http(method, url, gitlab_token=TOKEN, body=body).json()


def overview(forge: FakeForge, branch: str | None = "bot") -> Any:
    query = gitlab_overview.query(branch)
    return graphql(forge, query, gitlab_overview.variables(REPO, branch))


def test_the_overview_names_the_default_branch_its_head_and_the_branchs_merge_requests(
    fake_forge: FakeForge,
) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "bot", {"a": "a"}, "work")
    draft = {"source_branch": "bot", "target_branch": "main", "title": "Draft: fix"}
    first = rest(fake_forge, "POST", "/merge_requests", {**draft, "labels": "k8s,bot"})
    fake_forge.merge(REPO, first["iid"])
    second = rest(fake_forge, "POST", "/merge_requests", draft)
    fake_forge.push_commit(REPO, "other", {"b": "b"}, "other work")
    rest(fake_forge, "POST", "/merge_requests", {**draft, "source_branch": "other"})
    answer = overview(fake_forge)
    assert "errors" not in answer
    main = fake_forge.branch_head(REPO, "main")  # the merge moved it
    project = answer["data"]["project"]
    assert project["repository"] == {"rootRef": "main", "commit": {"sha": main}}
    connection = project["mergeRequests"]
    assert connection["pageInfo"] == {"hasNextPage": False}
    listed = rest(fake_forge, "GET", "/merge_requests?source_branch=bot&state=all")
    assert [node["iid"] for node in connection["nodes"]] == [str(mr["iid"]) for mr in listed]
    assert [mr["iid"] for mr in listed] == [second["iid"], first["iid"]]  # newest first
    for node, mr in zip(connection["nodes"], listed, strict=True):
        labels = node.pop("labels")
        assert labels["pageInfo"] == {"hasNextPage": False}
        assert [label["title"] for label in labels["nodes"]] == mr["labels"]
        node["labels"] = labels
        typed(node, MR_TYPES)
        assert (node["webUrl"], node["state"], node["title"], node["diffHeadSha"]) == (
            mr["web_url"],
            mr["state"],
            mr["title"],
            mr["sha"],
        )
        assert (node["sourceProjectId"], node["targetProjectId"]) == (
            mr["source_project_id"],
            mr["target_project_id"],
        )
    plain = overview(fake_forge, None)["data"]["project"]
    assert plain == {"repository": {"rootRef": "main", "commit": {"sha": main}}}


def test_commit_resolves_head_branches_and_shas_and_is_null_for_nothing(
    fake_forge: FakeForge,
) -> None:
    main = seeded(fake_forge)
    bot = fake_forge.push_commit(REPO, "bot", {"a": "a"}, "work")
    query = "query($project: ID!, $ref: String!) { project(fullPath: $project) { repository { commit(ref: $ref) { sha } } } }"  # noqa: E501
    for ref, sha in (("HEAD", main), ("main", main), ("refs/heads/bot", bot), (bot, bot)):
        answer = graphql(fake_forge, query, {"project": REPO, "ref": ref})
        assert answer["data"]["project"]["repository"]["commit"] == {"sha": sha}
    missing = graphql(fake_forge, query, {"project": REPO, "ref": "nope"})
    assert missing["data"]["project"]["repository"]["commit"] is None


def test_a_fork_merge_request_names_the_forks_project(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fork = fake_forge.open_pull(REPO, "bot", {"z": "z"}, "forker", fork="forker/app")
    [node] = overview(fake_forge)["data"]["project"]["mergeRequests"]["nodes"]
    [mr] = rest(fake_forge, "GET", "/merge_requests?source_branch=bot")
    assert node["iid"] == str(fork) == str(mr["iid"])
    assert node["sourceProjectId"] == mr["source_project_id"] != mr["target_project_id"]


def test_pages_and_labels_beyond_the_page_say_so(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    fake_forge.push_commit(REPO, "bot", {"a": "a"}, "work")
    draft = {"source_branch": "bot", "target_branch": "main", "title": "fix"}
    first = rest(fake_forge, "POST", "/merge_requests", {**draft, "labels": "a,b"})
    fake_forge.close(REPO, first["iid"])
    second = rest(fake_forge, "POST", "/merge_requests", {**draft, "labels": "x,y"})
    fake_forge.page_size_cap = 1
    connection = overview(fake_forge)["data"]["project"]["mergeRequests"]
    assert connection["pageInfo"] == {"hasNextPage": True}
    [node] = connection["nodes"]
    assert node["iid"] == str(second["iid"])
    assert node["labels"] == {"pageInfo": {"hasNextPage": True}, "nodes": [{"title": "x"}]}
    fake_forge.page_size_cap = None
    connection = overview(fake_forge)["data"]["project"]["mergeRequests"]
    assert connection["pageInfo"] == {"hasNextPage": False}
    assert [node["labels"]["nodes"] for node in connection["nodes"]] == [
        [{"title": "x"}, {"title": "y"}],
        [{"title": "a"}, {"title": "b"}],
    ]


def test_an_instance_before_17_10_refuses_any_query_naming_repository_commit(
    fake_forge: FakeForge,
) -> None:
    head = seeded(fake_forge)
    fake_forge.gitlab_before_17_10 = True
    answer = overview(fake_forge)
    assert "data" not in answer
    [error] = answer["errors"]
    assert error["message"] == "Field 'commit' doesn't exist on type 'Repository'"
    blobs = graphql(
        fake_forge, gitlab_listing.QUERY, {"project": REPO, "ref": head, "paths": ["README.md"]}
    )
    assert "errors" not in blobs  # what existed before is answered as ever


def test_blob_ids_are_the_trees(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    paths = ["README.md", "k8s/deploy.yaml", "k8s", "missing"]
    answer = graphql(
        fake_forge, gitlab_listing.QUERY, {"project": REPO, "ref": head, "paths": paths}
    )
    nodes = answer["data"]["project"]["repository"]["blobs"]["nodes"]
    tree = rest(fake_forge, "GET", f"/repository/tree?recursive=true&ref={head}")
    ids = {item["path"]: item["id"] for item in tree if item["type"] == "blob"}
    assert nodes == [{"path": path, "oid": ids[path]} for path in ("README.md", "k8s/deploy.yaml")]


def test_a_compare_beyond_diff_max_files_is_cut_and_says_so(fake_forge: FakeForge) -> None:
    head = seeded(fake_forge)
    new = fake_forge.push_commit(REPO, "main", {f"f{i}": f"{i}" for i in range(3)}, "three")
    compare = f"/repository/compare?from={head}&to={new}&straight=true"
    whole = rest(fake_forge, "GET", compare)
    assert len(whole["diffs"]) == 3 and whole["compare_timeout"] is False
    fake_forge.gitlab_diff_max_files = 2
    cut = rest(fake_forge, "GET", compare)
    assert len(cut["diffs"]) == 2 and cut["compare_timeout"] is True


def typed(value: dict[str, Any], types: dict[str, type | tuple[type, ...]]) -> None:
    assert set(value) == set(types), value
    for field, kinds in types.items():
        assert isinstance(value[field], kinds), (field, value)
