"""Reading a LiteLLM config: the findings (errors with a profile target, notes) and the
typed reads that make them, each naming file, line, key path and value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_aistack.stack.litellm.rules import ENV_PREFIX
from pytest_aistack.stack.profile_model import ProfileError
from pytest_aistack.stack.yaml_lines import Lines, Reader, show

Where = tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    target: Where  # the profile key it would have filled
    message: str


@dataclass
class Derivation:
    source: Path
    profile: dict[str, Any] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ConfigReader:
    """The parsed LiteLLM config, with line-numbered findings."""

    def __init__(self, data: Any, path: Path, lines: Lines) -> None:
        self.reader = Reader(path, lines, ProfileError)
        self.result = Derivation(path)
        self.named_after_id: list[str] = []  # deployments whose proxy name is assumed
        self.top = self.section(data, ())

    def at(self, where: Where) -> str:
        return str(self.reader.error(where, "")).removesuffix(": ")

    def fail(self, target: Where, where: Where, value: object, problem: str) -> None:
        self.result.errors.append(Problem(target, f"{self.at(where)}: {show(value)}: {problem}"))

    def note(self, message: str) -> None:
        self.result.notes.append(message)

    def section(self, value: object, where: Where) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail((), where, value, "expected a mapping; fix the LiteLLM config")
            return {}
        return {str(k): v for k, v in value.items()}

    def number(
        self, data: Mapping[str, Any], key: str, where: Where, target: Where, *, whole: bool = False
    ) -> Any:
        value = data.get(key)
        if value is None:
            return None
        kind = int if whole else (int, float)
        if isinstance(value, kind) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            why = "read from the environment when the gateway starts, so unknown here"
            self.fail(target, (*where, key), value, f"{why}; write the number in the config")
        else:
            expected = "a whole number >= 0" if whole else "a number of seconds >= 0"
            self.fail(target, (*where, key), value, f"expected {expected}")
        return None

    def not_checked(self, where: Where, keys: Iterable[str]) -> None:
        names = list(keys)
        if names:
            prefix = ".".join(where) + "." if where else ""
            listed = names[0] if len(names) == 1 else "{" + ", ".join(names) + "}"
            self.note(f"{prefix}{listed}: not checked by any scenario")


@dataclass
class Deployment:
    id: str
    group: str
    where: Where
    params: dict[str, Any]
    info: dict[str, Any]
    entry: dict[str, Any]
