"""The bare-repository layer: trees built without a working copy, guarded ref updates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakeforge.store import (
    BLOB_MODE,
    EXECUTABLE_MODE,
    TREE_MODE,
    BareRepo,
    RefUpdateRejected,
    Signature,
    TreeEdit,
)

ME = Signature.now("Tester", "tester@example.com")


@pytest.fixture
def bare(tmp_path: Path) -> BareRepo:
    repo = BareRepo(tmp_path / "r.git")
    repo.init("main")
    return repo


def commit_files(bare: BareRepo, files: dict[str, bytes], parent: str | None = None) -> str:
    edits = [TreeEdit(path, BLOB_MODE, bare.write_blob(data)) for path, data in files.items()]
    base = bare.resolve_tree(parent) if parent else None
    tree = bare.build_tree(base, edits)
    return bare.commit_tree(tree, [parent] if parent else [], "msg\n", ME, ME)


def test_build_tree_adds_nested_paths_and_reads_them_back(bare: BareRepo) -> None:
    sha = commit_files(bare, {"a.txt": b"A", "dir/sub/b.txt": b"B"})
    assert bare.files(sha) == {"a.txt": b"A", "dir/sub/b.txt": b"B"}
    listing = {(e.path, e.type) for e in bare.ls_tree(sha, recursive=True)}
    assert ("dir", "tree") in listing and ("dir/sub", "tree") in listing


def test_deleting_a_path_removes_only_it_and_a_directory_removes_its_subtree(
    bare: BareRepo,
) -> None:
    first = commit_files(bare, {"keep.txt": b"k", "gone.txt": b"g", "d/x": b"x", "d/y": b"y"})
    tree = bare.build_tree(
        bare.resolve_tree(first),
        [TreeEdit("gone.txt", BLOB_MODE, None), TreeEdit("d", BLOB_MODE, None)],
    )
    second = bare.commit_tree(tree, [first], "rm\n", ME, ME)
    assert bare.files(second) == {"keep.txt": b"k"}


def test_a_file_can_replace_a_directory_and_a_subtree_can_be_grafted(bare: BareRepo) -> None:
    first = commit_files(bare, {"d/x": b"x"})
    subtree = bare.resolve_tree(first)
    assert subtree is not None
    edits = [
        TreeEdit("d", EXECUTABLE_MODE, bare.write_blob(b"now a file")),
        TreeEdit("copy", TREE_MODE, subtree),
    ]
    tree = bare.build_tree(bare.resolve_tree(first), edits)
    second = bare.commit_tree(tree, [first], "swap\n", ME, ME)
    assert bare.files(second) == {"d": b"now a file", "copy/d/x": b"x"}
    entry = bare.entry(second, "d")
    assert entry is not None and entry.mode == EXECUTABLE_MODE


def test_update_ref_refuses_a_stale_old_value_and_an_existing_ref(bare: BareRepo) -> None:
    first = commit_files(bare, {"a": b"1"})
    second = commit_files(bare, {"a": b"2"}, parent=first)
    bare.update_ref("refs/heads/main", first, None)
    with pytest.raises(RefUpdateRejected):
        bare.update_ref("refs/heads/main", second, None)  # exists already
    with pytest.raises(RefUpdateRejected):
        bare.update_ref("refs/heads/main", second, second)  # stale expectation
    bare.update_ref("refs/heads/main", second, first)
    assert bare.ref("refs/heads/main") == second


def test_commit_info_round_trips_author_parents_and_message(bare: BareRepo) -> None:
    first = commit_files(bare, {"a": b"1"})
    second = commit_files(bare, {"a": b"2"}, parent=first)
    info = bare.commit_info(second)
    assert info is not None
    assert info.parents == (first,)
    assert (info.author.name, info.author.email) == ("Tester", "tester@example.com")
    assert info.message == "msg\n"
    assert bare.is_ancestor(first, second) and not bare.is_ancestor(second, first)


def test_diff_reports_added_modified_removed_and_renamed_files(bare: BareRepo) -> None:
    body = b"".join(b"line %d\n" % i for i in range(20))
    first = commit_files(bare, {"mod.txt": b"old\n", "gone.txt": b"g\n", "old-name.txt": body})
    tree = bare.build_tree(
        bare.resolve_tree(first),
        [
            TreeEdit("mod.txt", BLOB_MODE, bare.write_blob(b"new\n")),
            TreeEdit("gone.txt", BLOB_MODE, None),
            TreeEdit("old-name.txt", BLOB_MODE, None),
            TreeEdit("new-name.txt", BLOB_MODE, bare.write_blob(body)),
            TreeEdit("added.txt", BLOB_MODE, bare.write_blob(b"a\n")),
        ],
    )
    second = bare.commit_tree(tree, [first], "change\n", ME, ME)
    changes = {c.path: c for c in bare.diff(first, second)}
    assert {p: c.status for p, c in changes.items()} == {
        "added.txt": "added",
        "gone.txt": "removed",
        "mod.txt": "modified",
        "new-name.txt": "renamed",
    }
    assert changes["new-name.txt"].old_path == "old-name.txt"
    assert (changes["mod.txt"].additions, changes["mod.txt"].deletions) == (1, 1)
    assert "+new" in changes["mod.txt"].patch


def test_read_objects_skips_missing_objects(bare: BareRepo) -> None:
    sha = bare.write_blob(b"payload")
    found = bare.read_objects([sha, "f" * 40])
    assert found == {sha: b"payload"}
