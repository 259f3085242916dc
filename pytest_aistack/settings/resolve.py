"""Precedence: one frozen :class:`Settings`, resolved from five layers in one function.

Precedence, highest first::

    --aistack-<name>          command line
    AISTACK_<NAME>            environment (an empty value counts as unset)
    [tool.aistack] <name>     pyproject.toml, or ini key aistack_<name> (pytest.ini,
                              tox.ini, setup.cfg, [tool.pytest.ini_options])
    settings: <name>          the profile file (aistack.yaml) named by ``profile``
    default

The profile YAML is shared with the stack profile: only its top-level ``settings:``
mapping is read here; every other top-level key belongs to the stack's own parser.
Relative paths are resolved against the directory of the file that set them (the
invocation directory for the command line and the environment).

This module does not import pytest: commands such as ``aistack doctor`` use
:func:`resolve_outside_pytest`; the pytest side (options, ini keys, the session's
stash) is ``pytest_options``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from pytest_aistack.settings.model import Resolved, Settings
from pytest_aistack.settings.sources import (
    Layer,
    SettingsError,
    Source,
    find_pyproject,
    read_profile_settings,
    read_tool_aistack,
)
from pytest_aistack.settings.specs import SETTING_SPECS, SPECS_BY_NAME, SettingSpec


def resolve_settings(
    *,
    cli: Layer,
    env: Mapping[str, str],
    config_files: Iterable[Layer],
    invocation_dir: Path,
    default_dir: Path,
) -> Resolved:
    """The one place settings are resolved: CLI > env > config files > profile > defaults.

    ``config_files`` are the [tool.aistack] and ini layers (see :func:`read_tool_aistack`
    and ``pytest_options.settings_from_pytest``); when two of them set the same setting to
    different values that is an error, since neither is clearly meant. ``default_dir``
    anchors relative defaults (``report_dir``).
    """
    env_layer: dict[str, tuple[object, Source]] = {}
    for spec in SETTING_SPECS:
        value = env.get(spec.env_var, "")
        if value.strip():
            env_layer[spec.name] = (
                value,
                Source(f"environment variable {spec.env_var}", invocation_dir),
            )
    file_layer = _merge_config_files(config_files)

    upper_layers: list[Layer] = [cli, env_layer, file_layer]
    profile_path = _pick("profile", upper_layers)
    profile_layer: Layer = {}
    if profile_path is not None:
        path = _parse_value(SPECS_BY_NAME["profile"], *profile_path)
        if path is not None:
            profile_layer = read_profile_settings(cast(Path, path), SPECS_BY_NAME)

    values: dict[str, Any] = {}
    origins: dict[str, Source] = {}
    for spec in SETTING_SPECS:
        picked = _pick(spec.name, [*upper_layers, profile_layer])
        if picked is None:
            default = getattr(Settings(), spec.name)
            if isinstance(default, Path) and not default.is_absolute():
                default = default_dir / default
            values[spec.name] = default
            continue
        values[spec.name] = _parse_value(spec, *picked)
        origins[spec.name] = picked[1]
    return Resolved(Settings(**values), origins)


def _pick(name: str, layers: Iterable[Layer]) -> tuple[object, Source] | None:
    for layer in layers:
        if name in layer:
            return layer[name]
    return None


def _parse_value(spec: SettingSpec, raw: object, source: Source) -> Any:
    try:
        return spec.parse(raw, source.base_dir)
    except ValueError as exc:
        raise SettingsError(
            f"aistack: invalid {spec.name} {raw!r} from {source.label}: {exc}"
        ) from None


def _merge_config_files(layers: Iterable[Layer]) -> Layer:
    merged: dict[str, tuple[object, Source]] = {}
    for layer in layers:
        for name, (raw, source) in layer.items():
            if name in merged and merged[name][0] != raw:
                other_raw, other = merged[name]
                raise SettingsError(
                    f"aistack: {name} is set twice: {other_raw!r} in {other.label} and "
                    f"{raw!r} in {source.label}; keep one of them"
                )
            merged[name] = (raw, source)
    return merged


def settings_to_text(settings: Settings) -> dict[str, str]:
    """Each setting as a display string (paths and None spelled out)."""
    out: dict[str, str] = {}
    for spec in SETTING_SPECS:
        value = getattr(settings, spec.name)
        out[spec.name] = "-" if value is None else str(value)
    return out


def resolve_outside_pytest(
    *, cwd: Path | None = None, cli: Mapping[str, object] | None = None
) -> Resolved:
    """Settings for commands such as ``aistack doctor``: env, the nearest pyproject, profile."""
    base = cwd or Path.cwd()
    pyproject = find_pyproject(base)
    files = [read_tool_aistack(pyproject, SPECS_BY_NAME)] if pyproject is not None else []
    cli_layer = {
        name: (raw, Source(SPECS_BY_NAME[name].cli_flag, base))
        for name, raw in (cli or {}).items()
        if raw is not None
    }
    return resolve_settings(
        cli=cli_layer,
        env=os.environ,
        config_files=files,
        invocation_dir=base,
        default_dir=pyproject.parent if pyproject is not None else base,
    )
