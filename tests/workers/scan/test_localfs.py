"""Local file access: links never followed, size cap, atomic writes that keep the mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from workers.core.tree import ReadError
from workers.scan.localfs import LocalTree


def test_paths_are_relative_posix_and_skip_vcs_dirs(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.yaml").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.yaml").write_text("x")
    assert list(LocalTree(tmp_path).paths()) == ["a/b/x.yaml"]


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("secret")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "link.yaml").symlink_to(outside / "secret.yaml")
    (root / "dir").symlink_to(outside, target_is_directory=True)
    tree = LocalTree(root)
    assert sorted(tree.paths()) == ["link.yaml"]  # linked directories are not walked
    with pytest.raises(ReadError, match="symbolic link"):
        tree.read("link.yaml")
    with pytest.raises(ReadError, match="linked directory"):
        tree.read("dir/secret.yaml")
    with pytest.raises(ReadError, match="escapes"):
        tree.read("../outside/secret.yaml")


def test_size_cap(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_bytes(b"x" * 2048)
    with pytest.raises(ReadError, match="larger than"):
        LocalTree(tmp_path, max_bytes=1024).read("big.yaml")
    assert LocalTree(tmp_path, max_bytes=4096).read("big.yaml") == b"x" * 2048


def test_write_is_atomic_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    target.write_bytes(b"old")
    target.chmod(0o640)
    LocalTree(tmp_path).write("a.yaml", b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["a.yaml"]  # no temporary file left behind
