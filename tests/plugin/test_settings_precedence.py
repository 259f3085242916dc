"""Which source wins when a setting is set in more than one, and what counts as unset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .settings_dump import LAYERS, resolved_settings, usage_error


@pytest.mark.parametrize("top", range(len(LAYERS)))
def test_precedence(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch, top: int
) -> None:
    active = LAYERS[: top + 1]
    (pytester.path / "aistack.yaml").write_text("settings:\n  vllm_url: http://127.0.0.1:1001\n")
    monkeypatch.setenv("AISTACK_PROFILE", "aistack.yaml")
    args: list[str] = []
    if "tool_aistack" in active:
        pytester.makefile(".toml", pyproject='[tool.aistack]\nvllm_url = "http://127.0.0.1:1002"')
    if "env" in active:
        monkeypatch.setenv("AISTACK_VLLM_URL", "http://127.0.0.1:1003")
    if "cli" in active:
        args.append("--aistack-vllm-url=http://127.0.0.1:1004")
    assert resolved_settings(pytester, *args)["vllm_url"] == f"http://127.0.0.1:{1001 + top}"


def test_ini_key_beats_profile(pytester: pytest.Pytester, ini: Callable[..., Path]) -> None:
    (pytester.path / "aistack.yaml").write_text("settings:\n  backend: docker\n")
    ini(aistack_profile="aistack.yaml", aistack_backend="external")
    assert resolved_settings(pytester)["backend"] == "external"


def test_no_flag_overrides_env(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_STRICT", "1")
    assert resolved_settings(pytester)["strict"] is True
    assert resolved_settings(pytester, "--aistack-no-strict")["strict"] is False


def test_empty_env_value_counts_as_unset(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_BACKEND", "")
    assert resolved_settings(pytester)["backend"] == "local"


def test_same_setting_in_tool_aistack_and_ini_conflicts(
    pytester: pytest.Pytester, ini: Callable[..., Path]
) -> None:
    path = ini(aistack_backend="docker")
    toml = pytester.makefile(".toml", pyproject='[tool.aistack]\nbackend = "external"\n')
    assert usage_error(pytester) == (
        f"aistack: backend is set twice: 'external' in [tool.aistack] backend in {toml} and "
        f"'docker' in ini key aistack_backend in {path}; keep one of them"
    )
