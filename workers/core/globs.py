"""Path globs matched in time linear in the path and memory linear in the pattern.

Patterns come from `.pullpolicy.yml`, i.e. from the scanned repository: untrusted. A regex
translation runs on Python's backtracking `re`, where `**/**/**/...` against a deep path takes
exponential time. Caching every subset of a set-of-states automaton (a lazy DFA) is no cure
either: `**a` followed by 250 `?` makes each subset ~125 states and there are exponentially many,
so one pattern held megabytes. Here a glob compiles to an automaton with one position per token
whose current states are an `int` bitmask, and each path character is one step of a fixed
handful of integer operations on masks of `len(pattern) + 1` bits: O(len(path) * len(pattern))
time at worst (word-sized masks in practice). A Glob keeps the sets of states it has met, linked
by character, so that a common pattern costs one lookup a character, but only up to a fixed
size: past it the rest of the path is computed and nothing more kept. Memory per Glob is thus
O(len(pattern)), and the module's cache of Globs is bounded by their patterns' total length.

Semantics (gitignore-like, matched against the whole POSIX path):
`**/` spans zero or more whole directories, `**` anything, `*` anything within a directory,
`?` one character other than `/`; every other character stands for itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

# The module cache is bounded by the total length of the patterns it holds, since a Glob's
# size grows with its pattern (about 150 bytes a character at worst, by tracemalloc). The
# budget fits a whole config at the model's limits (64 include and 64 exclude patterns of 256
# characters), so a scan never recompiles its globs per path: about 5 MB at worst.
_CACHE_ENTRY_CHARS = 64  # what an entry costs beyond its pattern (object, masks, cache slot)
_CACHE_BUDGET_CHARS = 2 * 64 * (256 + _CACHE_ENTRY_CHARS)
# What a Glob's cached sets of states may cost (by its own estimate, see `_state_bytes`): the
# default patterns need three; a hostile one fills it and then computes without keeping.
_STATE_CACHE_BYTES = 16 * 1024


class Glob:
    """One compiled pattern; `match(path)` tells whether the whole path matches.

    The automaton covers the tokens between the literal prefix and suffix. Bit `i` of
    `positions` means "the next token to match is token `i`" (bit `len(tokens)`: all of them
    matched); bit `i` of `in_dirs` means "inside the `anything/` part of the `**/` token `i`".
    Both only ever hold bits below `len(tokens) + 1`.
    """

    __slots__ = (
        "_any",
        "_dirs",
        "_end",
        "_literals",
        "_nullable",
        "_one",
        "_prefix",
        "_star",
        "_start",
        "_state_bytes",
        "_states",
        "_states_size",
        "_suffix",
        "operations",
        "pattern",
    )

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.operations = 0
        """Automaton steps so far, at most one per path character (a cached transition, or a
        fixed number of operations on masks of `len(tokens) + 1` bits): a work counter for
        tests of the bound."""
        tokens = _tokenize(pattern)
        # Literal characters at either end match only themselves, in place: checked with
        # `startswith`/`endswith` (most patterns are `**/*.yaml`-like and most paths fail
        # on the extension), and the automaton runs on what lies between.
        head = 0
        while head < len(tokens) and not tokens[head][0]:
            head += 1
        tail = len(tokens)
        while tail > head and not tokens[tail - 1][0]:
            tail -= 1
        self._prefix = "".join(char for _, char in tokens[:head])
        self._suffix = "".join(char for _, char in tokens[tail:])
        self._literals: dict[str, int] = {}  # char -> tokens that are that literal character
        self._one = self._star = self._any = self._dirs = 0
        count = 0
        for kind, char in tokens[head:tail]:
            bit = 1 << count
            if kind == "?":
                self._one |= bit
            elif kind == "*":
                self._star |= bit
            elif kind == "**":
                self._any |= bit
            elif kind == "**/":
                self._dirs |= bit
            else:
                self._literals[char] = self._literals.get(char, 0) | bit
            count += 1
        self._end = count
        # Tokens that may match nothing: a run of them is crossed without consuming anything.
        self._nullable = self._star | self._any | self._dirs
        # The characters that have transitions of their own (the literals, and `/` and newline
        # for the wildcards) are the keys of `_literals`; all others behave alike.
        self._literals.setdefault("/", 0)
        self._literals.setdefault("\n", 0)
        self._states: dict[tuple[int, int], _State] = {}
        self._states_size = 0
        # What one cached state may cost at most: its masks, and a link per special character.
        self._state_bytes = 200 + 2 * (count // 8) + 40 * len(self._literals)
        start_positions = self._closure(1)
        start = self._cached_state(start_positions, start_positions & self._dirs)
        assert start is not None  # the first state is always kept
        self._start = start

    def match(self, path: str) -> bool:
        prefix, suffix = self._prefix, self._suffix
        if (
            len(path) < len(prefix) + len(suffix)
            or not path.startswith(prefix)
            or not path.endswith(suffix)
        ):
            return False
        return self._match_middle(path[len(prefix) : len(path) - len(suffix)])

    def _match_middle(self, path: str) -> bool:
        """Walk the cached states (one lookup per character); where the cache is full, go on
        by computing the states of the rest of the path, keeping none of them."""
        specials = self._literals
        state = self._start
        for index, char in enumerate(path):
            following = state.links.get(char) if char in specials else state.other
            if following is None:
                positions, in_dirs = self._step(state.positions, state.in_dirs, char)
                following = self._cached_state(positions, in_dirs)
                if following is None:
                    self.operations += index + 1
                    return self._simulate(positions, in_dirs, path[index + 1 :])
                if char in specials:
                    state.links[char] = following
                else:
                    state.other = following
            state = following
        self.operations += len(path)
        return state.accepting

    def _cached_state(self, positions: int, in_dirs: int) -> _State | None:
        key = (positions, in_dirs)
        state = self._states.get(key)
        if state is None:
            # Bounded: sets of states can be exponentially many (`**a???...`).
            if self._states and self._states_size + self._state_bytes > _STATE_CACHE_BYTES:
                return None
            state = _State(positions, in_dirs, bool(positions >> self._end & 1))
            self._states[key] = state
            self._states_size += self._state_bytes
        return state

    def _simulate(self, positions: int, in_dirs: int, path: str) -> bool:
        for char in path:
            if not (positions or in_dirs):
                return False
            self.operations += 1
            positions, in_dirs = self._step(positions, in_dirs, char)
        return bool(positions >> self._end & 1)

    def _step(self, positions: int, in_dirs: int, char: str) -> tuple[int, int]:
        """Consume one character: a fixed number of operations on the masks."""
        advancing = self._literals.get(char, 0)
        if char == "/":  # `?` and `*` stop here; `**/` may end its `anything/` part here
            positions = ((positions & advancing) << 1) | (positions & self._any) | (in_dirs << 1)
        elif char == "\n":  # `**` and `**/` never span a newline (`.` in the old regex)
            advancing |= self._one
            positions = ((positions & advancing) << 1) | (positions & self._star)
            in_dirs = 0
        else:
            advancing |= self._one
            looping = self._star | self._any
            positions = ((positions & advancing) << 1) | (positions & looping)
        positions = self._closure(positions)
        return positions, in_dirs | (positions & self._dirs)

    def _closure(self, positions: int) -> int:
        """Add the positions reached without consuming a character: from a nullable token,
        on through the rest of its run of nullable tokens and one past it.

        Adding the run's set bits to the run's mask carries from the lowest one to just past
        the run's end; XOR with the mask keeps exactly those bits (the ones above the lowest
        that the sum cleared are the ones set before: `positions` has them already)."""
        nullable = self._nullable
        return positions | ((nullable + (positions & nullable)) ^ nullable)

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


class _State:
    """A set of automaton states, with the states it leads to once they have been computed:
    `links` by special character, `other` for every other character (all alike)."""

    __slots__ = ("accepting", "in_dirs", "links", "other", "positions")

    def __init__(self, positions: int, in_dirs: int, accepting: bool) -> None:
        self.positions = positions
        self.in_dirs = in_dirs
        self.accepting = accepting
        self.links: dict[str, _State] = {}
        self.other: _State | None = None


def _tokenize(pattern: str) -> list[tuple[str, str]]:
    """(kind, char) pairs: kind is `**/`, `**`, `*`, `?`, or "" for the literal `char`."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            tokens.append(("**/", ""))
            i += 3
        elif pattern.startswith("**", i):
            tokens.append(("**", ""))
            i += 2
        elif pattern[i] in "*?":
            tokens.append((pattern[i], ""))
            i += 1
        else:
            tokens.append(("", pattern[i]))
            i += 1
    return tokens


class _GlobCache:
    """Compiled globs, least recently used dropped first once their patterns' total length
    (plus a per-entry overhead) passes the budget: bounded in bytes, not in entries."""

    def __init__(self, budget_chars: int) -> None:
        self.budget_chars = budget_chars
        self.used_chars = 0
        self._globs: OrderedDict[str, Glob] = OrderedDict()
        self._lock = threading.Lock()  # callers may match from several threads at once

    def get(self, pattern: str) -> Glob:
        with self._lock:
            glob = self._globs.get(pattern)
            if glob is not None:
                self._globs.move_to_end(pattern)
                return glob
        glob = Glob(pattern)
        cost = _cost(pattern)
        if cost > self.budget_chars:
            return glob  # too big to keep: compiled again next time
        with self._lock:
            if pattern not in self._globs:
                self._globs[pattern] = glob
                self.used_chars += cost
            while self.used_chars > self.budget_chars:
                dropped, _ = self._globs.popitem(last=False)
                self.used_chars -= _cost(dropped)
        return glob

    def clear(self) -> None:
        with self._lock:
            self._globs.clear()
            self.used_chars = 0

    def __len__(self) -> int:
        return len(self._globs)


def _cost(pattern: str) -> int:
    return len(pattern) + _CACHE_ENTRY_CHARS


_cache = _GlobCache(_CACHE_BUDGET_CHARS)


def compile_glob(pattern: str) -> Glob:
    return _cache.get(pattern)


def glob_match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path)
