"""A small Dockerfile reader: stages and their instructions, enough to check structure offline.

It follows the default escape character, comment lines and line continuations; heredocs and
parser directives are refused rather than misread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"#\s*(syntax|escape|check)\s*=", re.IGNORECASE)
_HEREDOC = re.compile(r"<<-?\s*['\"]?[A-Za-z_]")


class DockerfileError(ValueError):
    pass


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: str  # continuation lines joined
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array form (`["a", "b"]`), or None for the shell form."""
        if not self.arguments.startswith("["):
            return None
        try:
            words = json.loads(self.arguments)
        except json.JSONDecodeError:
            return None
        if isinstance(words, list) and all(isinstance(word, str) for word in words):
            return words
        return None

    def options_and_words(self) -> tuple[dict[str, str], list[str]]:
        """Leading `--flag[=value]` options, then the remaining words (or the exec form)."""
        words = self.arguments.split()
        options: dict[str, str] = {}
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            options[name.lower()] = value
        rest = " ".join(words)
        if rest.startswith("["):
            exec_words = Instruction(self.keyword, rest, self.line).exec_form()
            if exec_words is not None:
                return options, exec_words
        return options, words


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[tuple[str, str | None, list[Instruction]]] = []
    for instruction in _instructions(text):
        if instruction.keyword == "FROM":
            options, words = instruction.options_and_words()
            del options  # --platform does not matter here
            if not words:
                raise DockerfileError(f"line {instruction.line}: FROM without an image")
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append((words[0], name, []))
        elif stages:
            stages[-1][2].append(instruction)
        elif instruction.keyword != "ARG":
            raise DockerfileError(f"line {instruction.line}: {instruction.keyword} before FROM")
    return [Stage(base, name, tuple(instructions)) for base, name, instructions in stages]


def _instructions(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not pending and _DIRECTIVE.match(stripped) and not instructions:
            raise DockerfileError(f"line {number}: parser directives are not supported here")
        if not stripped or stripped.startswith("#"):
            continue  # comments may sit inside continued instructions too
        if not pending:
            start = number
        if _HEREDOC.search(stripped):
            raise DockerfileError(f"line {number}: heredocs are not supported here")
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        keyword, _, arguments = " ".join(pending).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    if pending:
        raise DockerfileError(f"line {start}: the file ends inside a continued instruction")
    return instructions
