"""FIXTURE_PLUGINS: other areas' fixture modules are registered only when they exist."""

from __future__ import annotations

import pytest

from pytest_aistack import plugin


def test_existing_modules_are_registered_missing_ones_ignored(
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
    monkeypatch.setattr(
        plugin,
        "FIXTURE_PLUGINS",
        ("aistack_area_fixtures", "pytest_aistack.no_such_area.pytest_fixtures", "absent_mod"),
    )
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


def test_default_list_names_each_area() -> None:
    assert plugin.FIXTURE_PLUGINS == (
        "pytest_aistack.asgi_fixtures",
        "pytest_aistack.chaos.pytest_fixtures",
        "pytest_aistack.stack.pytest_fixtures",
        "pytest_aistack.load.pytest_fixtures",
    )
