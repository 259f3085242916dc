"""Reading settings from files: ``[tool.aistack]`` in pyproject.toml and the ``settings:``
mapping of a profile YAML. Each value keeps its :class:`Source` for error messages.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_aistack.errors import ConfigError
from pytest_aistack.runtime.text_files import read_utf8

PROFILE_SETTINGS_KEY = "settings"
PROFILE_FIX = (
    "point --aistack-profile (AISTACK_PROFILE, profile) at an aistack.yaml, or save this one "
    "as UTF-8 (docs/profile.md)"
)


class SettingsError(ConfigError):
    """A setting has an invalid value, or a settings file cannot be read."""


@dataclass(frozen=True)
class Source:
    """Where a raw value came from: a label for messages, a base for relative paths."""

    label: str
    base_dir: Path


# A layer maps setting name -> (raw value, where it came from).
Layer = Mapping[str, tuple[object, Source]]


def unknown_setting(key: object, where: str, known: Collection[str]) -> SettingsError:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return SettingsError(
        f"aistack: unknown setting {key!r} in {where}{hint} Valid settings: {', '.join(known)}"
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_tool_aistack(pyproject: Path, known: Collection[str]) -> Layer:
    """The ``[tool.aistack]`` table of a pyproject.toml as a layer (empty if absent)."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"aistack: cannot read {pyproject}: {exc}") from None
    table = data.get("tool", {}).get("aistack", {})
    where = f"[tool.aistack] of {pyproject}"
    if not isinstance(table, dict):
        raise SettingsError(f"aistack: {where} must be a table of settings")
    layer: dict[str, tuple[object, Source]] = {}
    for key, raw in table.items():
        if key not in known:
            raise unknown_setting(key, where, known)
        layer[key] = (raw, Source(f"[tool.aistack] {key} in {pyproject}", pyproject.parent))
    return layer


def read_profile_settings(path: Path, known: Collection[str]) -> Layer:
    """The ``settings:`` mapping of a profile YAML, each value with its file and line."""
    import yaml  # only when a profile is used

    where = f"profile {path}"
    try:
        text = read_utf8(
            path, what="a profile", fix=PROFILE_FIX, error=lambda m: SettingsError(f"aistack: {m}")
        )
    except OSError as exc:
        raise SettingsError(
            f"aistack: cannot read {where}: {exc.strerror or exc}; "
            "fix the path given by --aistack-profile / AISTACK_PROFILE / profile"
        ) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise SettingsError(f"aistack: {where}{line} is not valid YAML: {exc}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise SettingsError(f"aistack: {where} must be a mapping at the top level")
    settings_node = next(
        (
            value
            for key, value in root.value
            if isinstance(key, yaml.ScalarNode) and key.value == PROFILE_SETTINGS_KEY
        ),
        None,
    )
    if settings_node is None or (
        isinstance(settings_node, yaml.ScalarNode) and settings_node.tag.endswith(":null")
    ):
        return {}
    if not isinstance(settings_node, yaml.MappingNode):
        line = settings_node.start_mark.line + 1
        raise SettingsError(f"aistack: {where} line {line}: 'settings:' must be a mapping")
    constructor = yaml.SafeLoader(text)  # only its constructor is used, on our nodes
    layer: dict[str, tuple[object, Source]] = {}
    try:
        for key_node, value_node in settings_node.value:
            line = key_node.start_mark.line + 1
            key = constructor.construct_object(key_node, deep=True)
            if key not in known:
                raise unknown_setting(key, f"{where} line {line} (under 'settings:')", known)
            raw = constructor.construct_object(value_node, deep=True)
            label = f"settings.{key} in {path} line {value_node.start_mark.line + 1}"
            layer[str(key)] = (raw, Source(label, path.parent))
    finally:
        constructor.dispose()
    return layer
