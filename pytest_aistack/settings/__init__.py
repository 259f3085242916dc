"""Settings: what a run is configured with and where each value came from.

The names other packages use are imported from here; the modules behind them are
``model`` (the frozen :class:`Settings`, :class:`Resolved`, the accepted choices),
``specs`` (the setting table: option, variable, ini key, parser, help per setting),
``resolve`` (precedence: command line > environment > config files > profile > default),
``pytest_options`` (the same inside a pytest run, kept in the config's stash),
``sources`` (pyproject.toml ``[tool.aistack]`` and profile ``settings:`` reading) and
``values`` (one parser per kind of value). Modules in this package import each other
directly, never this ``__init__``.
"""

from __future__ import annotations

from pytest_aistack.settings.model import Resolved, Settings
from pytest_aistack.settings.pytest_options import get_resolved, get_settings
from pytest_aistack.settings.resolve import (
    resolve_outside_pytest,
    resolve_settings,
    settings_to_text,
)
from pytest_aistack.settings.sources import SettingsError, Source
from pytest_aistack.settings.specs import SETTING_SPECS, SPECS_BY_NAME, SettingSpec, option_dest

__all__ = [
    "SETTING_SPECS",
    "SPECS_BY_NAME",
    "Resolved",
    "SettingSpec",
    "Settings",
    "SettingsError",
    "Source",
    "get_resolved",
    "get_settings",
    "option_dest",
    "resolve_outside_pytest",
    "resolve_settings",
    "settings_to_text",
]
