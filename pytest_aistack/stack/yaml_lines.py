"""YAML with line numbers, and typed reads whose errors name the file, line and key.

Shared by the profile parser (:mod:`pytest_aistack.stack.profile`), the conformance section
(:mod:`pytest_aistack.conformance.profile`) and the LiteLLM config
reader (:mod:`pytest_aistack.stack.litellm.profile`)::

    my.yaml:14: policy.cooldown_s: expected a number of seconds >= 0.001, got 'soon' (str)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

Lines = dict[tuple[str, ...], int]


def load_with_lines(text: str, path: Path, error: type[Exception]) -> tuple[Any, Lines]:
    """Parse YAML and remember the (1-based) line of every mapping key and list item."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
    lines: Lines = {}

    def walk(n: yaml.Node, where: tuple[str, ...]) -> None:
        lines.setdefault(where, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                key = (*where, str(key_node.value))
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*where, str(i)))

    if node is not None:
        walk(node, ())
    return data, lines


class Reader:
    """Typed access to the parsed profile with errors that carry file and line."""

    def __init__(self, path: Path, lines: Lines, error: type[Exception]) -> None:
        self.path = path
        self.lines = lines
        self.error_type = error

    def error(self, where: tuple[str, ...], message: str) -> Exception:
        probe = where
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        key = ".".join(where) or "(top level)"
        return self.error_type(f"{self.path}:{line}: {key}: {message}")

    def mapping(
        self, value: object, where: tuple[str, ...], allowed: tuple[str, ...] | None = None
    ) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {show(value)}")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise self.error(
                        (*where, str(key)), f"unknown key; expected one of: {', '.join(allowed)}"
                    )
        return {str(k): v for k, v in value.items()}

    def string(
        self, data: Mapping[str, Any], key: str, where: tuple[str, ...], default: str
    ) -> str:
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error((*where, key), f"expected a string, got {show(value)}")
        return value

    def names(self, data: Mapping[str, Any], key: str, where: tuple[str, ...]) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error((*where, key), f"expected a list of names, got {show(value)}")
        return tuple(value)

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        where: tuple[str, ...],
        *,
        integer: bool = False,
        minimum: float = 0.0,
        required: bool = True,
    ) -> Any:
        if key not in data or data[key] is None:
            if required:
                raise self.error((*where, key), "is required; " + _expect(integer, minimum))
            return None
        value = data[key]
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or not math.isfinite(value) or value < minimum:
            raise self.error((*where, key), f"{_expect(integer, minimum)}, got {show(value)}")
        return value


def _expect(integer: bool, minimum: float) -> str:
    kind = "a whole number" if integer else "a number of seconds"
    return f"expected {kind} >= {minimum:g}"


def show(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"
