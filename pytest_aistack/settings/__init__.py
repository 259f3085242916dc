"""Settings: what a run is configured with and where each value came from.

The names other packages use are imported from here; the modules behind them are
``resolve`` (the setting table, precedence and the resolved :class:`Settings`),
``sources`` (pyproject.toml ``[tool.aistack]`` and profile ``settings:`` reading) and
``values`` (one parser per kind of value).
"""

from __future__ import annotations

from pytest_aistack.settings.resolve import (
    SETTING_SPECS,
    SPECS_BY_NAME,
    Resolved,
    Settings,
    SettingSpec,
    get_resolved,
    get_settings,
    option_dest,
    resolve_outside_pytest,
    resolve_settings,
    settings_to_text,
)
from pytest_aistack.settings.sources import SettingsError, Source

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
