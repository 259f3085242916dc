"""pytest entry point (``pytest11: aistack``): wires hooks only; logic lives in modules.

Importing this module is cheap; stateful objects and fixture modules are imported
and registered in ``pytest_configure``.
"""

from __future__ import annotations

import importlib
import os

import pytest

from pytest_aistack.plugin.markers import register_markers
from pytest_aistack.settings import SETTING_SPECS, Settings, get_resolved, get_settings, option_dest

# Fixture and hook modules of the other areas, registered in pytest_configure (imported
# there, not here, so that `pytest --help` and `--version` stay cheap).
FIXTURE_PLUGINS: tuple[str, ...] = (
    "pytest_aistack.asgi.fixtures",
    "pytest_aistack.chaos.pytest_fixtures",
    "pytest_aistack.stack.pytest_fixtures",
    "pytest_aistack.load.pytest_fixtures",
    "pytest_aistack.resilience.fixtures",
)

_CHECKER_NAME = "aistack-requirements"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aistack", "pytest-aistack (AI serving stack testing)")
    for spec in SETTING_SPECS:
        where = f"[env {spec.env_var}, ini {spec.ini_key}]"
        if spec.is_flag:
            group.addoption(
                spec.cli_flag,
                action="store_const",
                const="true",
                dest=option_dest(spec.name),
                default=None,
                help=f"{spec.help} {where}",
            )
            group.addoption(
                spec.cli_flag.replace("--aistack-", "--aistack-no-", 1),
                action="store_const",
                const="false",
                dest=option_dest(spec.name),
                help=f"override {spec.cli_flag} set in the environment or a config file",
            )
        else:
            choices = f" ({'|'.join(spec.choices)})" if spec.choices else ""
            group.addoption(
                spec.cli_flag,
                dest=option_dest(spec.name),
                default=None,
                metavar=spec.metavar,
                help=f"{spec.help}{choices} {where}",
            )
        parser.addini(spec.ini_key, f"{spec.help} [pytest-aistack]", type="string", default=None)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_aistack.stack import newhooks

    pluginmanager.add_hookspecs(newhooks)


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
    if config.option.help or config.option.version:
        return  # `pytest --help` must work even while a setting is invalid
    # Resolve now so that an invalid setting stops the run before collection.
    settings = get_settings(config)
    _check_backend(config, settings)
    from pytest_aistack.plugin.requirements import RequirementChecker

    config.pluginmanager.register(RequirementChecker(settings), _CHECKER_NAME)
    for name in FIXTURE_PLUGINS:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.register(importlib.import_module(name), name)


def _check_backend(config: pytest.Config, settings: Settings) -> None:
    """Register the backends and stop the run now if none answers for ``settings.backend``.

    The plugins of the ``aistack`` entry-point group load here too (``aistack up`` loads
    the same group), unless PYTEST_DISABLE_PLUGIN_AUTOLOAD is set. Conftest files pytest
    loads at start-up (the root's, the test paths') are registered by now.
    """
    from pytest_aistack.settings import SettingsError
    from pytest_aistack.stack import backend_plugins

    backend_plugins.register_builtin_backends(config.pluginmanager)
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        config.pluginmanager.load_setuptools_entrypoints(backend_plugins.ENTRY_POINT_GROUP)
    try:
        backend_plugins.check_backend_name(settings, get_resolved(config).origins, hook=config.hook)
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    from pytest_aistack.plugin.header import header_lines

    return header_lines(get_resolved(config))


@pytest.fixture(scope="session")
def aistack_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved pytest-aistack settings (CLI > env > config files > profile > defaults)."""
    return get_settings(pytestconfig)
