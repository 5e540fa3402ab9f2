"""The fake's GraphQL documents the adapters send beyond blob reads and `updateRefs`: GitHub's
repository overview and branch + commit document, GitLab's blob reads. Each answer is checked
against the types GitHub's and GitLab's GraphQL references give the fields read."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

from tests.fakeforge import FakeForge
from tests.fakeforge.store import ZERO_SHA
from tests.fakeforge_selftest.helpers import REPO, TOKEN, HttpResult, http, seeded
from workers.forge import github_graphql, gitlab_blobs
from workers.forge.github_git import UPDATE_REFS_PREVIEW

# docs.github.com/en/graphql/reference/objects#repository, #ref, #commit, #pullrequest
OVERVIEW_TYPES: dict[str, type | tuple[type, ...]] = {"id": str, "defaultBranchRef": dict}
PULL_TYPES: dict[str, type | tuple[type, ...]] = {
    "number": int,
    "url": str,  # URI!
    "state": str,  # PullRequestState!: OPEN, CLOSED, MERGED
    "title": str,
    "body": str,
    "headRefName": str,
    "baseRefName": str,
    "headRefOid": str,  # GitObjectID!
    "isDraft": bool,
    "isCrossRepository": bool,
    "labels": dict,  # LabelConnection
}
# docs.github.com/en/graphql/reference/objects#ref, #comparison, #commit, #gitactor
REF_TYPES: dict[str, type | tuple[type, ...]] = {
    "target": dict,  # GitObject
    "refUpdateRule": (dict, type(None)),  # RefUpdateRule, null: no rule applies
    "rules": (dict, type(None)),  # RepositoryRuleConnection
}
COMMIT_TYPES: dict[str, type | tuple[type, ...]] = {
    "oid": str,  # GitObjectID!
    "message": str,
    "parents": dict,  # CommitConnection!
    "author": (dict, type(None)),  # GitActor
}
# docs.gitlab.com/api/graphql/reference/#repositoryblob
X_BASE64 = base64.b64encode(b"x\n").decode()
GITLAB_BLOB_TYPES: dict[str, type | tuple[type, ...]] = {
    "path": str,
    "rawTextBlob": (str, type(None)),
    "rawSize": int,
}


def graphql(forge: FakeForge, query: str, variables: dict[str, Any], **kw: Any) -> HttpResult:
    body = {"query": query, "variables": variables}
    return http("POST", f"{forge.url}/api/graphql", token=TOKEN, body=body, **kw)


def typed(value: dict[str, Any], types: dict[str, type | tuple[type, ...]]) -> None:
    assert set(value) == set(types), value
    for field, kinds in types.items():
        assert isinstance(value[field], kinds), (field, value)


def test_overview_names_the_repository_its_default_branch_head_tree_and_pulls(
    fake_forge: FakeForge,
) -> None:
    main = seeded(fake_forge)
    fake_forge.push_commit(REPO, "bot", {"a": "a"}, "work")
    pull = http(
        "POST",
        f"{fake_forge.github_api_url}/repos/{REPO}/pulls",
        token=TOKEN,
        body={"title": "t", "body": "b", "head": "bot", "base": "main"},
    ).json()
    variables = {"owner": "acme", "name": "app", "branch": "bot"}
    answer = graphql(fake_forge, github_graphql.OVERVIEW_WITH_PULLS, variables).json()
    repository = answer["data"]["repository"]
    nodes = repository.pop("pullRequests")["nodes"]
    typed(repository, OVERVIEW_TYPES)
    rest = http("GET", f"{fake_forge.github_api_url}/repos/{REPO}", token=TOKEN).json()
    assert repository["id"] == rest["node_id"]
    tree = http("GET", f"{fake_forge.github_api_url}/repos/{REPO}/commits/{main}", token=TOKEN)
    target = repository["defaultBranchRef"]["target"]
    assert repository["defaultBranchRef"]["name"] == "main" and target["oid"] == main
    assert target["tree"]["oid"] == tree.json()["commit"]["tree"]["sha"]
    [node] = nodes
    typed(node, PULL_TYPES)
    assert (node["number"], node["state"], node["url"]) == (
        pull["number"],
        "OPEN",
        pull["html_url"],
    )
    plain = graphql(fake_forge, github_graphql.OVERVIEW, {"owner": "acme", "name": "app"}).json()
    assert "pullRequests" not in plain["data"]["repository"]
    unseen = graphql(fake_forge, github_graphql.OVERVIEW, {"owner": "acme", "name": "secret"})
    assert unseen.json()["data"]["repository"] is None and unseen.json()["errors"]


def commit_document(
    forge: FakeForge, branch: str, expected: str, create_at: str | None
) -> dict[str, Any]:
    rest = http("GET", f"{forge.github_api_url}/repos/{REPO}", token=TOKEN).json()
    create = {"name": f"refs/heads/{branch}", "beforeOid": ZERO_SHA, "afterOid": create_at}
    commit = {
        "branch": {"repositoryNameWithOwner": REPO, "branchName": branch},
        "expectedHeadOid": expected,
        "message": {"headline": "fix", "body": "Generated-by: pullpolicy"},
        "fileChanges": {
            "additions": [
                {"path": "k8s/deploy.yaml", "contents": base64.b64encode(b"x\n").decode()}
            ],
            "deletions": [{"path": "README.md"}],
        },
    }
    variables = {"repositoryId": rest["node_id"], "refUpdates": [create], "commit": commit}
    headers = {"Accept": UPDATE_REFS_PREVIEW}
    query = github_graphql.CREATE_BRANCH_WITH_COMMIT
    answer: dict[str, Any] = graphql(forge, query, variables, headers=headers).json()
    return answer


def test_branch_and_commit_in_one_document(fake_forge: FakeForge) -> None:
    main = seeded(fake_forge)
    answer = commit_document(fake_forge, "fix", main, main)
    assert "errors" not in answer
    sha = answer["data"]["createCommitOnBranch"]["commit"]["oid"]
    assert isinstance(sha, str) and fake_forge.branch_head(REPO, "fix") == sha
    assert fake_forge.commit_parents(REPO, sha) == [main]
    assert fake_forge.commit_message(REPO, sha).strip() == "fix\n\nGenerated-by: pullpolicy"
    files = fake_forge.files(REPO, sha)
    assert files["k8s/deploy.yaml"] == b"x\n" and "README.md" not in files


def test_a_refused_field_is_null_with_its_error_and_the_next_still_runs(
    fake_forge: FakeForge,
) -> None:
    """The branch exists at another commit: `updateRefs` is refused, and the commit, which
    still runs, is refused too (the branch is not at `expectedHeadOid`); nothing moves."""
    main = seeded(fake_forge)
    theirs = fake_forge.push_commit(REPO, "fix", {"t": "t"}, "theirs")
    answer = commit_document(fake_forge, "fix", main, main)
    assert answer["data"] == {"updateRefs": None, "createCommitOnBranch": None}
    assert [error["path"] for error in answer["errors"]] == [
        ["updateRefs"],
        ["createCommitOnBranch"],
    ]
    assert fake_forge.branch_head(REPO, "fix") == theirs
    # At exactly the expected head, the commit lands although the branch existed.
    at_base = commit_document(fake_forge, "fix", theirs, theirs)
    assert at_base["data"]["updateRefs"] is None and at_base["data"]["createCommitOnBranch"]


def test_commit_on_branch_writes_every_file_as_a_regular_file(
    fake_forge: FakeForge, tmp_path: Path
) -> None:
    """As GitHub's createCommitOnBranch: an executable file it edits becomes 100644."""
    seeded(fake_forge)
    clone = tmp_path / "clone"
    git = ["git", "-c", "user.name=Human", "-c", "user.email=human@example.com"]
    subprocess.run([*git, "clone", "-q", fake_forge.git_url(REPO), str(clone)], check=True)
    (clone / "k8s" / "deploy.yaml").chmod(0o755)
    subprocess.run([*git, "-C", str(clone), "commit", "-qam", "executable"], check=True)
    subprocess.run([*git, "-C", str(clone), "push", "-q", "origin", "HEAD:main"], check=True)
    head = fake_forge.branch_head(REPO, "main") or ""
    answer = commit_document(fake_forge, "fix", head, head)
    written = answer["data"]["createCommitOnBranch"]["commit"]["oid"]
    tree = http(
        "GET",
        f"{fake_forge.github_api_url}/repos/{REPO}/git/trees/{written}?recursive=1",
        token=TOKEN,
    ).json()
    modes = {item["path"]: item["mode"] for item in tree["tree"]}
    assert modes["k8s/deploy.yaml"] == "100644"


def gitlab_blobs_answer(forge: FakeForge, ref: str, paths: list[str], project: str = REPO) -> Any:
    body = {"query": gitlab_blobs.QUERY, "variables": gitlab_blobs.variables(project, ref, paths)}
    url = f"{forge.gitlab_url}/api/graphql"
    return http("POST", url, gitlab_token=TOKEN, body=body).json()


def test_gitlab_blob_reads_answer_gitlabs_blob_fields(fake_forge: FakeForge) -> None:
    seeded(fake_forge)
    files: dict[str, bytes | str] = {"bin.png": b"\x89PNG\x00\x01", "latin1.txt": b"caf\xe9\n"}
    head = fake_forge.push_commit(REPO, "main", files, "more")
    paths = ["k8s/deploy.yaml", "bin.png", "latin1.txt", "missing.yaml", "k8s"]
    answer = gitlab_blobs_answer(fake_forge, head, paths)
    assert "errors" not in answer
    nodes = {
        node["path"]: node for node in answer["data"]["project"]["repository"]["blobs"]["nodes"]
    }
    for node in nodes.values():
        typed(node, GITLAB_BLOB_TYPES)
    assert set(nodes) == {"k8s/deploy.yaml", "bin.png", "latin1.txt"}  # nothing there: left out
    assert nodes["k8s/deploy.yaml"]["rawTextBlob"] == "kind: Deployment\n"
    assert nodes["bin.png"]["rawTextBlob"] is None
    latin1 = nodes["latin1.txt"]
    assert len(latin1["rawTextBlob"].encode()) != latin1["rawSize"]  # not UTF-8: replaced
    assert gitlab_blobs.exact_texts(answer, paths) == {"k8s/deploy.yaml": b"kind: Deployment\n"}
    unseen = gitlab_blobs_answer(fake_forge, head, paths, project="acme/secret")
    assert unseen["data"]["project"] is None


def test_overview_with_the_branch_names_its_state_and_the_comparison(
    fake_forge: FakeForge,
) -> None:
    """As REST's branch (protected) and compare/main...bot (its commits, oldest first)."""
    main = seeded(fake_forge)
    first = fake_forge.push_commit(REPO, "bot", {"a": "a"}, "work")
    second = fake_forge.push_commit(REPO, "bot", {"b": "b"}, "more")
    fake_forge.protect_branch(REPO, "bot", ruleset=True)
    variables = {"owner": "acme", "name": "app", "branch": "bot", "ref": "refs/heads/bot"}
    answer = graphql(fake_forge, github_graphql.OVERVIEW_WITH_BRANCH, variables).json()
    assert "errors" not in answer
    repository = answer["data"]["repository"]
    ref = repository["ref"]
    typed(ref, REF_TYPES)
    assert ref["target"]["oid"] == second and ref["rules"]["totalCount"] == 1
    assert ref["refUpdateRule"] is None  # a ruleset is not a branch protection rule
    rest = http("GET", f"{fake_forge.github_api_url}/repos/{REPO}/branches/bot", token=TOKEN)
    assert rest.json()["protected"] is True
    assert repository["defaultBranchRef"]["target"]["oid"] == main
    commits = repository["defaultBranchRef"]["compare"]["commits"]
    assert commits["totalCount"] == 2
    for node in commits["nodes"]:
        typed(node, COMMIT_TYPES)
    compare = http(
        "GET", f"{fake_forge.github_api_url}/repos/{REPO}/compare/main...bot", token=TOKEN
    )
    assert [n["oid"] for n in commits["nodes"]] == [c["sha"] for c in compare.json()["commits"]]
    assert [n["oid"] for n in commits["nodes"]] == [first, second]
    absent = {**variables, "ref": "refs/heads/nope", "branch": "nope"}
    gone = graphql(fake_forge, github_graphql.OVERVIEW_WITH_BRANCH, absent).json()
    assert gone["data"]["repository"]["ref"] is None
    assert gone["data"]["repository"]["defaultBranchRef"]["compare"] is None
