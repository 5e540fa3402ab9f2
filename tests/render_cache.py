"""A render function memoised on the exact files it is given, for the corpus tests: renders
can be made ahead of time in parallel, and a render a test repeats (the fix's own, then the
test's check of the same files) is made once. Failures are memoised too."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from workers.core.renders import Render, RenderFailed


class CachedRender:
    def __init__(self, render: Render) -> None:
        self.render = render
        self.results: dict[tuple[str, str], dict[str, str] | str] = {}
        self.calls = 0

    @staticmethod
    def key(files: Mapping[str, bytes], root: str) -> tuple[str, str]:
        digest = hashlib.sha256()
        for path, data in sorted(files.items()):
            digest.update(f"{path}\0{len(data)}\0".encode())
            digest.update(data)
        return root, digest.hexdigest()

    def warm(self, files: Mapping[str, bytes], root: str) -> None:
        key = self.key(files, root)
        if key not in self.results:
            self.calls += 1
            try:
                self.results[key] = self.render(files, root)
            except RenderFailed as error:
                self.results[key] = str(error)

    def __call__(self, files: Mapping[str, bytes], root: str) -> dict[str, str]:
        self.warm(files, root)
        result = self.results[self.key(files, root)]
        if isinstance(result, str):
            raise RenderFailed(result)
        return dict(result)
