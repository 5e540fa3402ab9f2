"""Command output whose reader may go away, as in `pullpolicy fix --diff | head`."""

from __future__ import annotations

import os
from typing import TextIO


class ReaderMayLeave:
    """Writes to `stream` until its reader closes the pipe; after that, writes are dropped and
    the command goes on (a fix in progress still fixes every file), with no traceback."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_left = False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                self._stream.write(text)
                self._stream.flush()
            except BrokenPipeError:
                self._leave()
        return len(text)

    def _leave(self) -> None:
        self.reader_left = True
        # The interpreter flushes stdout again at exit: point it at /dev/null so that flush
        # cannot fail too (the recipe in Python's signal module documentation).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)
