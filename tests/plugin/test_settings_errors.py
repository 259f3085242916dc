"""Invalid values and broken sources: one usage error naming the setting, where it came
from and how to fix it; ``--help`` still works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .settings_dump import usage_error


def test_invalid_choice_from_cli(pytester: pytest.Pytester, ini: object) -> None:
    assert usage_error(pytester, "--aistack-backend=dockr") == (
        "aistack: invalid backend 'dockr' from --aistack-backend: "
        "expected one of local, docker, external"
    )


def test_invalid_number_from_env(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_PROBE_TIMEOUT", "-1")
    assert usage_error(pytester) == (
        "aistack: invalid probe_timeout '-1' from environment variable AISTACK_PROBE_TIMEOUT: "
        "expected a number of seconds > 0, e.g. 1 or 2.5"
    )


def test_invalid_bool_from_ini(pytester: pytest.Pytester, ini: Callable[..., Path]) -> None:
    path = ini(aistack_strict="maybe")
    assert usage_error(pytester) == (
        f"aistack: invalid strict 'maybe' from ini key aistack_strict in {path}: "
        "expected a boolean: one of 1, true, yes, on, 0, false, no, off"
    )


def test_invalid_url_from_tool_aistack(pytester: pytest.Pytester, ini: object) -> None:
    path = pytester.makefile(".toml", pyproject='[tool.aistack]\nredis_url = "127.0.0.1:6379"')
    assert usage_error(pytester) == (
        f"aistack: invalid redis_url '127.0.0.1:6379' from [tool.aistack] redis_url in {path}: "
        "expected a redis:// or rediss:// or unix:// URL like redis://127.0.0.1:6379/0"
    )


def test_invalid_value_in_profile_names_file_and_line(
    pytester: pytest.Pytester, ini: object
) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("stack: {}\nsettings:\n  backend: local\n  chaos_engine: toxi\n")
    assert usage_error(pytester, f"--aistack-profile={profile}") == (
        f"aistack: invalid chaos_engine 'toxi' from settings.chaos_engine in {profile} line 4: "
        "expected one of auto, embedded, binary, docker"
    )


def test_unknown_key_in_profile(pytester: pytest.Pytester, ini: object) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("settings:\n  vllm_ulr: http://127.0.0.1:1\n")
    message = usage_error(pytester, f"--aistack-profile={profile}")
    assert message.startswith(
        f"aistack: unknown setting 'vllm_ulr' in profile {profile} line 2 (under 'settings:'); "
        "did you mean vllm_url? Valid settings: strict, probe_timeout,"
    )


def test_unknown_key_in_tool_aistack(pytester: pytest.Pytester, ini: object) -> None:
    path = pytester.makefile(".toml", pyproject="[tool.aistack]\nstrikt = true\n")
    assert usage_error(pytester).startswith(
        f"aistack: unknown setting 'strikt' in [tool.aistack] of {path}; did you mean strict?"
    )


def test_broken_yaml_names_the_line(pytester: pytest.Pytester, ini: object) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("settings:\n  backend: [local\n")
    message = usage_error(pytester, f"--aistack-profile={profile}")
    assert message.startswith(f"aistack: profile {profile} line 3 is not valid YAML:")


def test_settings_must_be_a_mapping(pytester: pytest.Pytester, ini: object) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("name: x\nsettings:\n  - backend\n")
    assert usage_error(pytester, f"--aistack-profile={profile}") == (
        f"aistack: profile {profile} line 3: 'settings:' must be a mapping"
    )


def test_missing_profile_file(pytester: pytest.Pytester, ini: object) -> None:
    message = usage_error(pytester, "--aistack-profile=nope.yaml")
    assert message == (
        f"aistack: cannot read profile {pytester.path / 'nope.yaml'}: No such file or directory; "
        "fix the path given by --aistack-profile / AISTACK_PROFILE / profile"
    )


def test_help_lists_options_even_with_an_invalid_setting(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_BACKEND", "dockr")
    result = pytester.runpytest("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*--aistack-strict*turn every requires_* skip into a failure*",
            "*aistack_vllm_url (string):*",
        ]
    )


def test_redis_url_path_must_be_a_database_number(pytester: pytest.Pytester, ini: object) -> None:
    assert usage_error(pytester, "--aistack-redis-url=redis://127.0.0.1:6379/cache") == (
        "aistack: invalid redis_url 'redis://127.0.0.1:6379/cache' from --aistack-redis-url: "
        "expected a redis:// or rediss:// or unix:// URL like redis://127.0.0.1:6379/0 "
        "(the path is the database number)"
    )
