"""Bare git repositories driven through the `git` binary: the fake forge's only source of truth.

Trees are built without a working copy: a throw-away index file (GIT_INDEX_FILE) is loaded
with `read-tree`, edited with `update-index --index-info`, and written with `write-tree`.
Refs move with `update-ref NEW OLD`, so a concurrent change is detected instead of lost.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ZERO_SHA = "0" * 40
BLOB_MODE = "100644"
EXECUTABLE_MODE = "100755"
TREE_MODE = "040000"

# Keep the host's git configuration (hooks, templates, init.defaultBranch ...) out of the fake.
_ISOLATED_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


class GitCommandError(Exception):
    """A git command failed; the message holds git's stderr (never credentials)."""


class RefUpdateRejected(Exception):
    """update-ref refused: the ref did not hold the expected old value."""


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    when: datetime

    @classmethod
    def now(cls, name: str, email: str) -> Signature:
        return cls(name, email, datetime.now(UTC).replace(microsecond=0))

    def git_date(self) -> str:
        offset = self.when.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "+" if minutes >= 0 else "-"
        hours, mins = divmod(abs(minutes), 60)
        return f"@{int(self.when.timestamp())} {sign}{hours:02d}{mins:02d}"


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    type: str  # "blob" | "tree" | "commit"
    sha: str
    size: int | None


@dataclass(frozen=True)
class TreeEdit:
    """One path to change while building a tree; sha=None removes the path and all below it."""

    path: str
    mode: str
    sha: str | None


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class FileChange:
    """One entry of a diff between two commits."""

    status: str  # "added" | "removed" | "modified" | "renamed"
    path: str
    old_path: str
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    additions: int
    deletions: int
    patch: str


class BareRepo:
    """One bare repository on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # -- plumbing ---------------------------------------------------------------------------

    def git(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> bytes:
        full_env = {**os.environ, **_ISOLATED_ENV, "GIT_DIR": str(self.path), **(env or {})}
        proc = subprocess.run(
            ["git", *args], input=stdin, capture_output=True, env=full_env, check=False
        )
        if check and proc.returncode != 0:
            raise GitCommandError(
                f"git {args[0]} failed: {proc.stderr.decode(errors='replace').strip()}"
            )
        return proc.stdout if proc.returncode == 0 else b""

    def _succeeds(self, *args: str) -> bool:
        full_env = {**os.environ, **_ISOLATED_ENV, "GIT_DIR": str(self.path)}
        proc = subprocess.run(["git", *args], capture_output=True, env=full_env, check=False)
        return proc.returncode == 0

    def init(self, default_branch: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--bare", "--quiet", f"--initial-branch={default_branch}")
        # Let `git http-backend` accept pushes; authentication is the server's job.
        self.git("config", "http.receivepack", "true")

    # -- objects ----------------------------------------------------------------------------

    def resolve_commit(self, rev: str) -> str | None:
        if not rev or rev.startswith("-"):
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        return out.decode().strip() or None

    def resolve_tree(self, rev: str) -> str | None:
        if not rev or rev.startswith("-"):
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{tree}}", check=False)
        return out.decode().strip() or None

    def object_type(self, sha: str) -> str | None:
        if not sha or sha.startswith("-"):
            return None
        out = self.git("cat-file", "-t", sha, check=False)
        return out.decode().strip() or None

    def write_blob(self, data: bytes) -> str:
        return self.git("hash-object", "-w", "--stdin", stdin=data).decode().strip()

    def batch(self, specs: Iterable[str]) -> dict[str, tuple[str, str, bytes]]:
        """spec -> (sha, type, content) through one `cat-file --batch`; unknown specs are left out.

        A spec is any revision expression (`sha`, `main^{commit}`, `main:path/file`).
        """
        wanted = [s for s in dict.fromkeys(specs) if s and "\n" not in s]
        if not wanted:
            return {}
        out = self.git("cat-file", "--batch", stdin="".join(f"{s}\n" for s in wanted).encode())
        found: dict[str, tuple[str, str, bytes]] = {}
        pos = 0
        for spec in wanted:
            header_end = out.index(b"\n", pos)
            parts = out[pos:header_end].decode(errors="replace").split(" ")
            pos = header_end + 1
            if len(parts) != 3 or not parts[2].isdigit():
                continue  # "<spec> missing" or "<spec> ambiguous": no content follows
            size = int(parts[2])
            found[spec] = (parts[0], parts[1], out[pos : pos + size])
            pos += size + 1  # content is followed by a newline
        return found

    def read_objects(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Contents of many objects at once; missing objects are left out."""
        return {spec: content for spec, (_, _, content) in self.batch(shas).items()}

    def read_blob(self, sha: str) -> bytes | None:
        found = self.batch([sha]).get(sha)
        return found[2] if found is not None and found[1] == "blob" else None

    def read_path(self, rev: str, path: str) -> bytes | None:
        spec = f"{rev}:{path.strip('/')}"
        found = self.batch([spec]).get(spec)
        return found[2] if found is not None and found[1] == "blob" else None

    # -- trees ------------------------------------------------------------------------------

    def ls_tree(self, treeish: str, *, recursive: bool, path: str = "") -> list[TreeEntry]:
        """Entries below `path` (a directory, "" for the root). Recursive listings include trees."""
        args = ["ls-tree", "-l", "-z", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        args.append(f"{treeish}:{path}" if path else treeish)
        out = self.git(*args, check=False)
        prefix = f"{path.rstrip('/')}/" if path else ""
        entries = []
        for record in out.decode(errors="surrogateescape").split("\0"):
            if not record:
                continue
            meta, name = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            entries.append(
                TreeEntry(prefix + name, mode, kind, sha, None if size == "-" else int(size))
            )
        return entries

    def entry(self, rev: str, path: str) -> TreeEntry | None:
        """The entry at `path` in `rev`, or None."""
        path = path.strip("/")
        if not path:
            tree = self.resolve_tree(rev)
            return TreeEntry("", TREE_MODE, "tree", tree, None) if tree else None
        parent, _, _name = path.rpartition("/")
        for item in self.ls_tree(rev, recursive=False, path=parent):
            if item.path == path:
                return item
        return None

    def files(self, rev: str) -> dict[str, bytes]:
        blobs = [e for e in self.ls_tree(rev, recursive=True) if e.type == "blob"]
        contents = self.read_objects(e.sha for e in blobs)
        return {e.path: contents[e.sha] for e in blobs}

    def build_tree(self, base_tree: str | None, edits: Sequence[TreeEdit]) -> str:
        """A new tree: `base_tree` (or empty) with `edits` applied, in order."""
        with tempfile.TemporaryDirectory(prefix="fakeforge-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.git("read-tree", *([base_tree] if base_tree else ["--empty"]), env=env)
            indexed = self._indexed_paths(env)
            pending: list[str] = []
            for edit in edits:
                path = edit.path.strip("/")
                # Whatever sits at the path or below it goes first: a file replacing a directory,
                # a directory replacing a file and the deletion of a whole subtree all need it.
                doomed = {p for p in indexed if p == path or p.startswith(path + "/")}
                pending += [f"0 {ZERO_SHA}\t{p}\n" for p in sorted(doomed)]
                indexed -= doomed
                if edit.sha is None:
                    continue
                if edit.mode != TREE_MODE:
                    pending.append(f"{edit.mode} {edit.sha}\t{path}\n")
                    indexed.add(path)
                    continue
                # A whole subtree by sha: the index holds no tree entries, so read it in.
                self._update_index(pending, env)
                pending = []
                # --prefix insists on a work tree even though it never touches one.
                graft_env = {**env, "GIT_WORK_TREE": scratch}
                self.git("read-tree", f"--prefix={path}/", edit.sha, env=graft_env)
                indexed = self._indexed_paths(env)
            self._update_index(pending, env)
            return self.git("write-tree", env=env).decode().strip()

    def _indexed_paths(self, env: Mapping[str, str]) -> set[str]:
        listed = self.git("ls-files", "-z", env=env).decode(errors="surrogateescape")
        return {p for p in listed.split("\0") if p}

    def _update_index(self, info_lines: Sequence[str], env: Mapping[str, str]) -> None:
        if info_lines:
            self.git("update-index", "--index-info", stdin="".join(info_lines).encode(), env=env)

    # -- commits ----------------------------------------------------------------------------

    def commit_tree(
        self,
        tree: str,
        parents: Sequence[str],
        message: str,
        author: Signature,
        committer: Signature,
    ) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": author.git_date(),
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": committer.git_date(),
        }
        return self.git(*args, stdin=message.encode(), env=env).decode().strip()

    def commit_info(self, rev: str) -> CommitInfo | None:
        if not rev or rev.startswith("-"):
            return None
        found = self.batch([f"{rev}^{{commit}}"]).get(f"{rev}^{{commit}}")
        if found is None:
            return None
        full, _, content = found
        raw = content.decode(errors="replace")
        header, _, message = raw.partition("\n\n")
        tree = ""
        parents: list[str] = []
        people: dict[str, Signature] = {}
        for line in header.split("\n"):
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key in ("author", "committer"):
                people[key] = _parse_signature(value)
        return CommitInfo(
            full, tree, tuple(parents), people["author"], people["committer"], message
        )

    def rev_list(
        self, tip: str, *, path: str | None = None, exclude: str | None = None
    ) -> list[str]:
        """Commits reachable from `tip` (not from `exclude`), newest first."""
        args = ["rev-list", tip]
        if exclude:
            args.append(f"^{exclude}")
        if path:
            args += ["--", path]
        return self.git(*args).decode().split()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self._succeeds("merge-base", "--is-ancestor", ancestor, descendant)

    def merge_base(self, a: str, b: str) -> str | None:
        return self.git("merge-base", a, b, check=False).decode().strip() or None

    def merge_trees(self, ours: str, theirs: str) -> str | None:
        """Tree of a clean three-way merge of two commits, or None on conflict."""
        out = self.git("merge-tree", "--write-tree", ours, theirs, check=False).decode().split()
        return out[0] if out else None

    def diff(self, old: str, new: str, limit: int | None = None) -> list[FileChange]:
        """Changed files between two commits, renames detected, each with its unified patch
        (the first `limit` only)."""
        raw = self.git("diff-tree", "-r", "-M", "-z", "--raw", old, new)
        changes = []
        for change in _parse_raw_diff(raw.decode(errors="surrogateescape"))[:limit]:
            full = self.git(
                "diff", "-M", "--no-color", old, new, "--", change.old_path, change.path
            ).decode(errors="replace")
            hunks = full.split("\n@@", 1)
            patch = "@@" + hunks[1] if len(hunks) == 2 else ""
            added, deleted = _count_lines(patch)
            changes.append(replace(change, additions=added, deletions=deleted, patch=patch))
        return changes

    # -- refs -------------------------------------------------------------------------------

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.decode().splitlines() if line)

    def valid_ref_name(self, name: str) -> bool:
        return not name.startswith("-") and self._succeeds("check-ref-format", name)

    def ref(self, name: str) -> str | None:
        return self.refs(name).get(name)

    def update_ref(self, name: str, new: str, old: str | None) -> None:
        """Point `name` at `new` if it currently holds `old` (None: must not exist)."""
        ok = self._succeeds("update-ref", name, new, old or ZERO_SHA)
        if not ok:
            raise RefUpdateRejected(name)

    def delete_ref(self, name: str, old: str) -> None:
        if not self._succeeds("update-ref", "-d", name, old):
            raise RefUpdateRejected(name)

    def head_branch(self) -> str:
        return self.git("symbolic-ref", "--short", "HEAD").decode().strip()


def _parse_signature(value: str) -> Signature:
    name_email, _, stamp = value.rpartition("> ")
    name, _, email = name_email.partition(" <")
    seconds, _, zone = stamp.partition(" ")
    sign = -1 if zone.startswith("-") else 1
    offset_minutes = sign * (int(zone[1:3]) * 60 + int(zone[3:5])) if len(zone) == 5 else 0
    zone_info = timezone(timedelta(minutes=offset_minutes))
    return Signature(name, email, datetime.fromtimestamp(int(seconds), zone_info))


_STATUS_NAMES = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "T": "modified"}


def _parse_raw_diff(text: str) -> list[FileChange]:
    """Parse `diff-tree -z --raw` records: ":modes shas status" NUL path [NUL new-path]."""
    fields = text.split("\0")
    changes: list[FileChange] = []
    i = 0
    while i < len(fields):
        if not fields[i].startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_sha, new_sha, status = fields[i][1:].split()
        if status[0] in ("R", "C"):
            old_path, path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path = path = fields[i + 1]
            i += 2
        status_name = _STATUS_NAMES.get(status[0], "modified")
        changes.append(
            FileChange(status_name, path, old_path, old_mode, new_mode, old_sha, new_sha, 0, 0, "")
        )
    return changes


def _count_lines(patch: str) -> tuple[int, int]:
    added = deleted = 0
    for line in patch.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            deleted += 1
    return added, deleted
