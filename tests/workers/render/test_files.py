"""The materialiser both engines write their files with: only plain paths, only regular files."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.core.renders import RenderFailed
from workers.render.files import materialise


def test_a_file_where_a_directory_must_go_is_refused_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(RenderFailed, match=r"refused path 'a/b'"):
        materialise({"a": b"x", "a/b": b"y"}, tmp_path)


def test_a_directory_that_is_a_link_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    into = tmp_path / "into"
    into.mkdir()
    (into / "a").symlink_to(outside)  # as if an earlier step had left a link there
    with pytest.raises(RenderFailed, match=r"refused path 'a/b'"):
        materialise({"a/b": b"y"}, into)
    assert list(outside.iterdir()) == []


def test_plain_files_are_written_private(tmp_path: Path) -> None:
    materialise({"c/templates/pod.yaml": b"kind: Pod\n"}, tmp_path)
    written = tmp_path / "c" / "templates" / "pod.yaml"
    assert written.read_bytes() == b"kind: Pod\n"
    assert written.stat().st_mode & 0o777 == 0o600
