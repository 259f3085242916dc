"""FIXTURE_PLUGINS: each area's fixture module is registered by the plugin, and a module
that cannot be imported stops the run instead of silently taking its fixtures away."""

from __future__ import annotations

import pytest

from pytest_aistack import plugin


def test_area_modules_are_registered_with_their_fixtures_and_hooks(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        aistack_area_fixtures="""
        import pytest

        @pytest.fixture
        def area_value():
            return 42

        def pytest_report_header(config):
            return "area header line"
        """
    )
    pytester.syspathinsert()
    monkeypatch.setattr(plugin, "FIXTURE_PLUGINS", ("aistack_area_fixtures",))
    pytester.makepyfile(
        """
        def test_uses_area_fixture(area_value, aistack_settings):
            assert area_value == 42
            assert aistack_settings.backend == "local"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["area header line"])


def test_a_module_that_does_not_import_is_an_error(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugin, "FIXTURE_PLUGINS", ("pytest_aistack.no_such_area.pytest_fixtures",))
    pytester.makepyfile("def test_never_runs(): pass")
    result = pytester.runpytest()
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*No module named 'pytest_aistack.no_such_area'*"])


def test_every_area_is_registered(pytester: pytest.Pytester, ini: object) -> None:
    pytester.makepyfile(
        """
        def test_registered(pytestconfig, scenario, aistack_settings):
            names = {
                "pytest_aistack.asgi.fixtures",
                "pytest_aistack.chaos.pytest_fixtures",
                "pytest_aistack.stack.pytest_fixtures",
                "pytest_aistack.load.pytest_fixtures",
                "pytest_aistack.resilience.fixtures",
            }
            assert {n for n in names if pytestconfig.pluginmanager.has_plugin(n)} == names
        """
    )
    result = pytester.runpytest("--aistack-report-dir=results")
    result.assert_outcomes(passed=1)
