"""Settings inside a pytest run: the ``--aistack-*`` options and ``aistack_*`` ini keys
become layers for :func:`resolve_settings`, resolved once per config and kept in its stash.

pytest is imported only inside the functions, so importing the settings package does not
import pytest; a :class:`SettingsError` becomes ``pytest.UsageError``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pytest_aistack.settings.model import Resolved, Settings
from pytest_aistack.settings.resolve import resolve_settings
from pytest_aistack.settings.sources import SettingsError, Source, read_tool_aistack
from pytest_aistack.settings.specs import SETTING_SPECS, SPECS_BY_NAME, option_dest

if TYPE_CHECKING:
    import pytest


def settings_from_pytest(config: pytest.Config) -> Resolved:
    """Resolve settings from a pytest config; an invalid value is a ``pytest.UsageError``."""
    import pytest

    invocation_dir = config.invocation_params.dir
    cli: dict[str, tuple[object, Source]] = {}
    ini: dict[str, tuple[object, Source]] = {}
    ini_file = config.inipath
    for spec in SETTING_SPECS:
        value = config.getoption(option_dest(spec.name))
        if value is not None:
            cli[spec.name] = (value, Source(spec.cli_flag, invocation_dir))
        ini_value = config.getini(spec.ini_key)
        if ini_value is not None:
            base = ini_file.parent if ini_file is not None else invocation_dir
            where = f"ini key {spec.ini_key} in {ini_file}" if ini_file else f"-o {spec.ini_key}"
            ini[spec.name] = (ini_value, Source(where, base))

    if ini_file is not None and ini_file.name == "pyproject.toml":
        pyproject: Path | None = ini_file
    else:
        candidate = config.rootpath / "pyproject.toml"
        pyproject = candidate if candidate.is_file() else None
    try:
        files = [read_tool_aistack(pyproject, SPECS_BY_NAME)] if pyproject is not None else []
        return resolve_settings(
            cli=cli,
            env=os.environ,
            config_files=[*files, ini],
            invocation_dir=invocation_dir,
            default_dir=config.rootpath,
        )
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None


_stash_key: Any = None


def get_resolved(config: pytest.Config) -> Resolved:
    """The session's resolved settings with their origins (resolved once per config)."""
    import pytest

    global _stash_key
    if _stash_key is None:
        _stash_key = pytest.StashKey[Resolved]()
    key = cast("pytest.StashKey[Resolved]", _stash_key)
    if key not in config.stash:
        config.stash[key] = settings_from_pytest(config)
    return config.stash[key]


def get_settings(config: pytest.Config) -> Settings:
    """The session's :class:`Settings` (use the ``aistack_settings`` fixture in tests)."""
    return get_resolved(config).settings
