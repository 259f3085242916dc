"""Every setting from each source (command line, environment, ini key, [tool.aistack],
a profile's ``settings:`` section) and the defaults."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_aistack.settings import SETTING_SPECS, Settings

from .settings_dump import resolved_settings

SAMPLES: dict[str, tuple[str, Any]] = {
    "strict": ("true", True),
    "probe_timeout": ("2.5", 2.5),
    "probe_cloud": ("yes", True),
    "cloud_base_url": ("http://127.0.0.1:9/", "http://127.0.0.1:9"),
    "cloud_key_env": ("MY_KEY, OTHER_KEY", "MY_KEY,OTHER_KEY"),
    "vllm_url": ("http://127.0.0.1:1234", "http://127.0.0.1:1234"),
    "ollama_url": ("http://127.0.0.1:1235", "http://127.0.0.1:1235"),
    "llamacpp_url": ("https://llama.internal:8443", "https://llama.internal:8443"),
    "redis_url": ("redis://127.0.0.1:7000/1", "redis://127.0.0.1:7000/1"),
    "gateway_url": ("http://127.0.0.1:4001/", "http://127.0.0.1:4001"),
    "backend": ("external", "external"),
    "profile": ("prof.yaml", "{base}/prof.yaml"),
    "stack_file": ("stack.yaml", "{base}/stack.yaml"),
    "keep_up": ("on", True),
    "chaos_engine": ("embedded", "embedded"),
    "toxiproxy_bin": ("/opt/toxiproxy-server", "/opt/toxiproxy-server"),
    "report_dir": ("out", "{base}/out"),
    "docker_services_image": ("pytest-aistack:dev", "pytest-aistack:dev"),
    "docker_redis_image": ("aistack-redis:local", "aistack-redis:local"),
    "docker_toxiproxy_image": (
        "ghcr.io/shopify/toxiproxy:2.12.0",
        "ghcr.io/shopify/toxiproxy:2.12.0",
    ),
    "docker_ryuk": ("off", "off"),
}


def test_samples_cover_every_setting() -> None:
    # A new setting needs a sample here: then the CLI/env/ini tests below cover it too.
    assert set(SAMPLES) == {spec.name for spec in SETTING_SPECS}


def _sample_files(base: Path) -> None:
    """The files the path samples name: path settings that must exist are checked."""
    (base / "prof.yaml").write_text("settings: {}\n")
    (base / "stack.yaml").write_text("services: {}\n")


def _expected(name: str, base: Path) -> Any:
    value = SAMPLES[name][1]
    return value.format(base=base) if isinstance(value, str) else value


def test_defaults(pytester: pytest.Pytester, ini: object) -> None:
    settings = resolved_settings(pytester)
    defaults = Settings()
    assert settings["backend"] == defaults.backend == "local"
    assert settings["probe_timeout"] == 1.0
    assert settings["vllm_url"] == "http://127.0.0.1:8000"
    assert settings["ollama_url"] == "http://127.0.0.1:11434"
    assert settings["llamacpp_url"] == "http://127.0.0.1:8080"
    assert settings["redis_url"] == "redis://127.0.0.1:6379"
    assert settings["gateway_url"] == "http://127.0.0.1:4000"
    assert settings["cloud_key_env"] == "OPENAI_API_KEY"
    assert settings["profile"] is None
    assert settings["toxiproxy_bin"] is None
    # Relative defaults are anchored at the rootdir, not wherever pytest was started.
    assert settings["report_dir"] == str(pytester.path / "results")


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_setting_from_cli(pytester: pytest.Pytester, ini: object, name: str) -> None:
    _sample_files(pytester.path)
    spec = next(spec for spec in SETTING_SPECS if spec.name == name)
    raw = SAMPLES[name][0]
    args = [spec.cli_flag] if spec.is_flag else [f"{spec.cli_flag}={raw}"]
    assert resolved_settings(pytester, *args)[name] == _expected(name, pytester.path)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_setting_from_env(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _sample_files(pytester.path)
    monkeypatch.setenv(f"AISTACK_{name.upper()}", SAMPLES[name][0])
    assert resolved_settings(pytester)[name] == _expected(name, pytester.path)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_setting_from_ini(
    pytester: pytest.Pytester, ini: Callable[..., Path], name: str
) -> None:
    _sample_files(pytester.path)
    ini(**{f"aistack_{name}": SAMPLES[name][0]})
    assert resolved_settings(pytester)[name] == _expected(name, pytester.path)


def test_tool_aistack_table_with_native_types(pytester: pytest.Pytester, ini: object) -> None:
    pytester.makefile(
        ".toml",
        pyproject="""
        [tool.aistack]
        strict = true
        probe_timeout = 3
        backend = "docker"
        report_dir = "reports"
        """,
    )
    settings = resolved_settings(pytester)
    assert settings["strict"] is True
    assert settings["probe_timeout"] == 3.0
    assert settings["backend"] == "docker"
    assert settings["report_dir"] == str(pytester.path / "reports")


def test_profile_settings_section_and_foreign_keys(pytester: pytest.Pytester, ini: object) -> None:
    sub = pytester.mkdir("profiles")
    (sub / "aistack.yaml").write_text(
        textwrap.dedent(
            """\
            gateway: {url: http://127.0.0.1:4000}   # the stack's part: not ours to read
            policy: {breaker: {allowed_fails: 2}}
            settings:
              vllm_url: http://127.0.0.1:9100
              probe_timeout: 0.5
              keep_up: true
              report_dir: ../reports
            """
        )
    )
    settings = resolved_settings(pytester, "--aistack-profile=profiles/aistack.yaml")
    assert settings["profile"] == str(sub / "aistack.yaml")
    assert settings["vllm_url"] == "http://127.0.0.1:9100"
    assert settings["probe_timeout"] == 0.5
    assert settings["keep_up"] is True
    # Relative to the profile file's own directory.
    assert Path(settings["report_dir"]).resolve() == pytester.path / "reports"


def test_profile_without_settings_key(pytester: pytest.Pytester, ini: object) -> None:
    (pytester.path / "aistack.yaml").write_text("gateway: {url: http://x}\n")
    assert (
        resolved_settings(pytester, "--aistack-profile=aistack.yaml")["vllm_url"]
        == Settings().vllm_url
    )
