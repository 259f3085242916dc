"""Settings: every option, ini key and env var; precedence; errors that say how to fix them."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_aistack.settings import SETTING_SPECS, Settings

DUMP_TEST = """
import json
from dataclasses import asdict

def test_dump(aistack_settings):
    data = {k: (str(v) if v is not None and not isinstance(v, (bool, float, str)) else v)
            for k, v in asdict(aistack_settings).items()}
    print("SETTINGS=" + json.dumps(data))
"""

# (raw value as a user types it, the resolved value; "{base}" is the run's directory)
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


def _settings(result: pytest.RunResult) -> dict[str, Any]:
    for line in result.outlines:
        _, found, dump = line.partition("SETTINGS=")
        if found:
            data: dict[str, Any] = json.loads(dump)
            return data
    raise AssertionError("no settings dump in:\n" + result.stdout.str() + result.stderr.str())


def _run(pytester: pytest.Pytester, *args: str) -> dict[str, Any]:
    pytester.makepyfile(test_dump=DUMP_TEST)
    result = pytester.runpytest("-s", *args)
    result.assert_outcomes(passed=1)
    return _settings(result)


def _expected(name: str, base: Path) -> Any:
    value = SAMPLES[name][1]
    return value.format(base=base) if isinstance(value, str) else value


def test_defaults(pytester: pytest.Pytester, ini: object) -> None:
    settings = _run(pytester)
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
    assert _run(pytester, *args)[name] == _expected(name, pytester.path)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_setting_from_env(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _sample_files(pytester.path)
    monkeypatch.setenv(f"AISTACK_{name.upper()}", SAMPLES[name][0])
    assert _run(pytester)[name] == _expected(name, pytester.path)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_setting_from_ini(
    pytester: pytest.Pytester, ini: Callable[..., Path], name: str
) -> None:
    _sample_files(pytester.path)
    ini(**{f"aistack_{name}": SAMPLES[name][0]})
    assert _run(pytester)[name] == _expected(name, pytester.path)


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
    settings = _run(pytester)
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
    settings = _run(pytester, "--aistack-profile=profiles/aistack.yaml")
    assert settings["profile"] == str(sub / "aistack.yaml")
    assert settings["vllm_url"] == "http://127.0.0.1:9100"
    assert settings["probe_timeout"] == 0.5
    assert settings["keep_up"] is True
    # Relative to the profile file's own directory.
    assert Path(settings["report_dir"]).resolve() == pytester.path / "reports"


def test_profile_without_settings_key(pytester: pytest.Pytester, ini: object) -> None:
    (pytester.path / "aistack.yaml").write_text("gateway: {url: http://x}\n")
    assert _run(pytester, "--aistack-profile=aistack.yaml")["vllm_url"] == Settings().vllm_url


# Layers from lowest to highest; each adds a vllm_url with its own port.
LAYERS = ("profile", "tool_aistack", "env", "cli")


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
    assert _run(pytester, *args)["vllm_url"] == f"http://127.0.0.1:{1001 + top}"


def test_ini_key_beats_profile(pytester: pytest.Pytester, ini: Callable[..., Path]) -> None:
    (pytester.path / "aistack.yaml").write_text("settings:\n  backend: docker\n")
    ini(aistack_profile="aistack.yaml", aistack_backend="external")
    assert _run(pytester)["backend"] == "external"


def test_no_flag_overrides_env(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_STRICT", "1")
    assert _run(pytester)["strict"] is True
    assert _run(pytester, "--aistack-no-strict")["strict"] is False


def test_empty_env_value_counts_as_unset(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_BACKEND", "")
    assert _run(pytester)["backend"] == "local"


# --- errors -------------------------------------------------------------------------


def _usage_error(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(test_dump=DUMP_TEST)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    errors = [line for line in result.errlines if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.errlines
    return errors[0].removeprefix("ERROR: ")


def test_invalid_choice_from_cli(pytester: pytest.Pytester, ini: object) -> None:
    assert _usage_error(pytester, "--aistack-backend=dockr") == (
        "aistack: invalid backend 'dockr' from --aistack-backend: "
        "expected one of local, docker, external"
    )


def test_invalid_number_from_env(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_PROBE_TIMEOUT", "-1")
    assert _usage_error(pytester) == (
        "aistack: invalid probe_timeout '-1' from environment variable AISTACK_PROBE_TIMEOUT: "
        "expected a number of seconds > 0, e.g. 1 or 2.5"
    )


def test_invalid_bool_from_ini(pytester: pytest.Pytester, ini: Callable[..., Path]) -> None:
    path = ini(aistack_strict="maybe")
    assert _usage_error(pytester) == (
        f"aistack: invalid strict 'maybe' from ini key aistack_strict in {path}: "
        "expected a boolean: one of 1, true, yes, on, 0, false, no, off"
    )


def test_invalid_url_from_tool_aistack(pytester: pytest.Pytester, ini: object) -> None:
    path = pytester.makefile(".toml", pyproject='[tool.aistack]\nredis_url = "127.0.0.1:6379"')
    assert _usage_error(pytester) == (
        f"aistack: invalid redis_url '127.0.0.1:6379' from [tool.aistack] redis_url in {path}: "
        "expected a redis:// or rediss:// or unix:// URL like redis://127.0.0.1:6379/0"
    )


def test_invalid_value_in_profile_names_file_and_line(
    pytester: pytest.Pytester, ini: object
) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("stack: {}\nsettings:\n  backend: local\n  chaos_engine: toxi\n")
    assert _usage_error(pytester, f"--aistack-profile={profile}") == (
        f"aistack: invalid chaos_engine 'toxi' from settings.chaos_engine in {profile} line 4: "
        "expected one of auto, embedded, binary, docker"
    )


def test_unknown_key_in_profile(pytester: pytest.Pytester, ini: object) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("settings:\n  vllm_ulr: http://127.0.0.1:1\n")
    message = _usage_error(pytester, f"--aistack-profile={profile}")
    assert message.startswith(
        f"aistack: unknown setting 'vllm_ulr' in profile {profile} line 2 (under 'settings:'); "
        "did you mean vllm_url? Valid settings: strict, probe_timeout,"
    )


def test_unknown_key_in_tool_aistack(pytester: pytest.Pytester, ini: object) -> None:
    path = pytester.makefile(".toml", pyproject="[tool.aistack]\nstrikt = true\n")
    assert _usage_error(pytester).startswith(
        f"aistack: unknown setting 'strikt' in [tool.aistack] of {path}; did you mean strict?"
    )


def test_broken_yaml_names_the_line(pytester: pytest.Pytester, ini: object) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("settings:\n  backend: [local\n")
    message = _usage_error(pytester, f"--aistack-profile={profile}")
    assert message.startswith(f"aistack: profile {profile} line 3 is not valid YAML:")


def test_settings_must_be_a_mapping(pytester: pytest.Pytester, ini: object) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("name: x\nsettings:\n  - backend\n")
    assert _usage_error(pytester, f"--aistack-profile={profile}") == (
        f"aistack: profile {profile} line 3: 'settings:' must be a mapping"
    )


def test_missing_profile_file(pytester: pytest.Pytester, ini: object) -> None:
    message = _usage_error(pytester, "--aistack-profile=nope.yaml")
    assert message == (
        f"aistack: cannot read profile {pytester.path / 'nope.yaml'}: No such file or directory; "
        "fix the path given by --aistack-profile / AISTACK_PROFILE / profile"
    )


def test_same_setting_in_tool_aistack_and_ini_conflicts(
    pytester: pytest.Pytester, ini: Callable[..., Path]
) -> None:
    path = ini(aistack_backend="docker")
    toml = pytester.makefile(".toml", pyproject='[tool.aistack]\nbackend = "external"\n')
    assert _usage_error(pytester) == (
        f"aistack: backend is set twice: 'external' in [tool.aistack] backend in {toml} and "
        f"'docker' in ini key aistack_backend in {path}; keep one of them"
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
    assert _usage_error(pytester, "--aistack-redis-url=redis://127.0.0.1:6379/cache") == (
        "aistack: invalid redis_url 'redis://127.0.0.1:6379/cache' from --aistack-redis-url: "
        "expected a redis:// or rediss:// or unix:// URL like redis://127.0.0.1:6379/0 "
        "(the path is the database number)"
    )


# --- stack_file: precedence, relative paths, errors ------------------------------------


def test_stack_file_default_is_none_meaning_the_reference_stack(
    pytester: pytest.Pytester, ini: object
) -> None:
    assert _run(pytester)["stack_file"] is None


@pytest.mark.parametrize("top", range(len(LAYERS)))
def test_stack_file_precedence_and_relative_paths(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch, top: int
) -> None:
    # Each layer names "s.yaml"; each resolves it against its own directory, so the
    # winning layer shows in the resolved path.
    profiles = pytester.mkdir("profiles")
    project = pytester.mkdir("project")
    run_dir = pytester.mkdir("run")
    for directory in (profiles, project, run_dir):
        (directory / "s.yaml").write_text("services: {}\n")
    (profiles / "aistack.yaml").write_text("settings:\n  stack_file: s.yaml\n")
    # pyproject.toml in project/ is pytest's config file: [tool.aistack] is read from it.
    tool = '[tool.aistack]\nstack_file = "s.yaml"\n' if top >= 1 else ""
    (project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
        'addopts = "-p no:hypothesispytest"\n' + tool
    )
    (project / "test_dump.py").write_text(DUMP_TEST)
    args = [f"--aistack-profile={profiles / 'aistack.yaml'}"]
    if top >= 2:
        monkeypatch.setenv("AISTACK_STACK_FILE", "s.yaml")
    if top >= 3:
        (run_dir / "cli.yaml").write_text("services: {}\n")
        args.append("--aistack-stack-file=cli.yaml")
    expected = [
        profiles / "s.yaml",
        project / "s.yaml",
        run_dir / "s.yaml",  # command line and environment: the invocation directory
        run_dir / "cli.yaml",
    ][top]
    label = [
        f"settings.stack_file in {profiles / 'aistack.yaml'} line 2",
        f"[tool.aistack] stack_file in {project / 'pyproject.toml'}",
        "environment variable AISTACK_STACK_FILE",
        "--aistack-stack-file",
    ][top]
    monkeypatch.chdir(run_dir)
    result = pytester.runpytest("-s", "-c", str(project / "pyproject.toml"), *args, str(project))
    result.assert_outcomes(passed=1)
    assert _settings(result)["stack_file"] == str(expected)
    assert f"stack_file ({label})" in result.stdout.str()  # the header's "set by" line


def test_missing_stack_file_names_setting_source_and_path(
    pytester: pytest.Pytester, ini: object
) -> None:
    assert _usage_error(pytester, "--aistack-stack-file=nope.yaml") == (
        f"aistack: invalid stack_file 'nope.yaml' from --aistack-stack-file: "
        f"{pytester.path / 'nope.yaml'} does not exist; point it at a stack file "
        "(docs/configuration.md, Stack files) or leave it unset for the reference stack"
    )


def test_stack_file_that_is_a_directory(
    pytester: pytest.Pytester, ini: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.mkdir("stacks")
    monkeypatch.setenv("AISTACK_STACK_FILE", "stacks")
    assert _usage_error(pytester).startswith(
        "aistack: invalid stack_file 'stacks' from environment variable AISTACK_STACK_FILE: "
        f"{pytester.path / 'stacks'} is a directory, not a file;"
    )


def test_missing_stack_file_from_profile_names_file_and_line(
    pytester: pytest.Pytester, ini: object
) -> None:
    profile = pytester.path / "aistack.yaml"
    profile.write_text("settings:\n  backend: local\n  stack_file: gone.yaml\n")
    assert _usage_error(pytester, f"--aistack-profile={profile}").startswith(
        f"aistack: invalid stack_file 'gone.yaml' from settings.stack_file in {profile} line 3: "
        f"{pytester.path / 'gone.yaml'} does not exist;"
    )
