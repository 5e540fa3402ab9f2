"""Path globs matched in time linear in the path, whatever the pattern.

Patterns come from `.pullpolicy.yml`, i.e. from the scanned repository: untrusted. A regex
translation runs on Python's backtracking `re`, where `**/**/**/...` against a deep path takes
exponential time. Here a glob compiles to a small automaton (one state per token) that is run
on a *set* of states, one character at a time: at most O(len(path) * len(pattern)) work, and a
cache of visited state sets makes the common case one dict lookup per character.

Semantics (gitignore-like, matched against the whole POSIX path):
`**/` spans zero or more whole directories, `**` anything, `*` anything within a directory,
`?` one character other than `/`; every other character stands for itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

_MAX_CACHED_STEPS = 4096  # bounds memory per pattern; the cache is only a shortcut


class _Op(Enum):
    DIRS = "**/"  # zero or more `anything/` (`.` never matches a newline, as in the old regex)
    ANY = "**"  # any characters except a newline
    STAR = "*"  # any characters except `/`
    ONE = "?"  # one character except `/`
    LITERAL = ""  # exactly `char`


@dataclass(frozen=True)
class _Token:
    op: _Op
    char: str = ""


# A state is an index into the tokens (the next token to match), or `~index` for "inside the
# `anything` part of the DIRS token at index" (negative, so the two never collide).
_States = frozenset[int]


@dataclass
class Glob:
    """One compiled pattern; `match(path)` tells whether the whole path matches."""

    pattern: str
    _tokens: tuple[_Token, ...] = field(init=False, repr=False)
    _start: _States = field(init=False, repr=False)
    _steps: dict[tuple[_States, str], _States] = field(default_factory=dict, repr=False)
    operations: int = field(default=0, repr=False)
    """Token visits so far: a work counter for tests of the linear bound."""

    def __post_init__(self) -> None:
        self._tokens = _tokenize(self.pattern)
        self._start = self._closure({0})

    def match(self, path: str) -> bool:
        states = self._start
        for char in path:
            if not states:
                return False
            key = (states, char)
            following = self._steps.get(key)
            if following is None:
                following = self._step(states, char)
                if len(self._steps) >= _MAX_CACHED_STEPS:
                    self._steps.clear()
                self._steps[key] = following
            states = following
        return len(self._tokens) in states

    def _step(self, states: _States, char: str) -> _States:
        following: set[int] = set()
        for state in states:
            self.operations += 1
            if state < 0:  # inside DIRS: anything but a newline, and a `/` may end it
                if char != "\n":
                    following.add(state)
                if char == "/":
                    following.add(~state + 1)
                continue
            if state == len(self._tokens):
                continue  # the end state consumes nothing
            token = self._tokens[state]
            if token.op is _Op.ANY:
                if char != "\n":
                    following.add(state)
            elif token.op is _Op.STAR:
                if char != "/":
                    following.add(state)
            elif token.op is _Op.ONE:
                if char != "/":
                    following.add(state + 1)
            elif token.op is _Op.LITERAL and char == token.char:
                following.add(state + 1)
        return self._closure(following)

    def _closure(self, states: set[int]) -> _States:
        """Add the states reachable without consuming a character (every token but ONE and
        LITERAL may match nothing)."""
        todo = list(states)
        seen = set(states)
        while todo:
            state = todo.pop()
            self.operations += 1
            if state < 0 or state == len(self._tokens):
                continue
            op = self._tokens[state].op
            reached: tuple[int, ...] = ()
            if op is _Op.DIRS:
                reached = (state + 1, ~state)
            elif op in (_Op.ANY, _Op.STAR):
                reached = (state + 1,)
            for other in reached:
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return frozenset(seen)


def _tokenize(pattern: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            tokens.append(_Token(_Op.DIRS))
            i += 3
        elif pattern.startswith("**", i):
            tokens.append(_Token(_Op.ANY))
            i += 2
        elif pattern[i] == "*":
            tokens.append(_Token(_Op.STAR))
            i += 1
        elif pattern[i] == "?":
            tokens.append(_Token(_Op.ONE))
            i += 1
        else:
            tokens.append(_Token(_Op.LITERAL, pattern[i]))
            i += 1
    return tuple(tokens)


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    return Glob(pattern)


def glob_match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path)
