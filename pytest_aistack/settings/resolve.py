"""Settings: one frozen :class:`Settings`, resolved from five layers in one function.

Precedence, highest first::

    --aistack-<name>          command line
    AISTACK_<NAME>            environment (an empty value counts as unset)
    [tool.aistack] <name>     pyproject.toml, or ini key aistack_<name> (pytest.ini,
                              tox.ini, setup.cfg, [tool.pytest.ini_options])
    settings: <name>          the profile file (aistack.yaml) named by ``profile``
    default

The profile YAML is shared with the stack profile: only its top-level ``settings:``
mapping is read here; every other top-level key belongs to the stack's own parser.
Relative paths are resolved against the directory of the file that set them (the
invocation directory for the command line and the environment).

This module does not import pytest; :func:`settings_from_pytest` converts a
:class:`SettingsError` into ``pytest.UsageError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

# Re-exported ("X as X"): errors, sources and layers are part of this module's API.
from pytest_aistack.settings.sources import Layer as Layer
from pytest_aistack.settings.sources import SettingsError as SettingsError
from pytest_aistack.settings.sources import Source as Source
from pytest_aistack.settings.sources import (
    find_pyproject,
    read_profile_settings,
    read_tool_aistack,
)
from pytest_aistack.settings.values import (
    Parser,
    choice_parser,
    parse_bool,
    parse_env_names,
    parse_image,
    parse_optional_path,
    parse_optional_str,
    parse_path,
    parse_seconds,
    parse_stack_file,
    url_parser,
)

if TYPE_CHECKING:
    import pytest

Backend = Literal["local", "docker", "external"]
ChaosEngine = Literal["auto", "embedded", "binary", "docker"]

BACKENDS: tuple[str, ...] = ("local", "docker", "external")
CHAOS_ENGINES: tuple[str, ...] = ("auto", "embedded", "binary", "docker")
DockerRyuk = Literal["auto", "on", "off"]
DOCKER_RYUK: tuple[str, ...] = ("auto", "on", "off")

ENV_PREFIX = "AISTACK_"
INI_PREFIX = "aistack_"
CLI_PREFIX = "--aistack-"


@dataclass(frozen=True, kw_only=True)
class Settings:
    strict: bool = False
    probe_timeout: float = 1.0
    probe_cloud: bool = False
    cloud_base_url: str = "https://api.openai.com"
    cloud_key_env: str = "OPENAI_API_KEY"
    vllm_url: str = "http://127.0.0.1:8000"
    ollama_url: str = "http://127.0.0.1:11434"
    llamacpp_url: str = "http://127.0.0.1:8080"
    redis_url: str = "redis://127.0.0.1:6379"
    gateway_url: str = "http://127.0.0.1:4000"
    backend: Backend = "local"
    profile: Path | None = None
    # None: the reference stack (pytest_aistack/reference_stack/stack.yaml); see stack/factory.py.
    stack_file: Path | None = None
    keep_up: bool = False
    chaos_engine: ChaosEngine = "auto"
    toxiproxy_bin: str | None = None
    report_dir: Path = Path("results")
    # The docker backend's images (docs/docker.md); scripts/docker-ci-images builds
    # local stand-ins where no registry answers and prints the names to use.
    docker_services_image: str = "pytest-aistack:local"
    docker_redis_image: str = "redis:7-alpine"
    docker_toxiproxy_image: str = "ghcr.io/shopify/toxiproxy:2.12.0"
    docker_ryuk: DockerRyuk = "auto"

    @property
    def cloud_key_envs(self) -> tuple[str, ...]:
        """The API-key variable names in ``cloud_key_env`` (comma-separated)."""
        return tuple(name.strip() for name in self.cloud_key_env.split(",") if name.strip())


@dataclass(frozen=True)
class Resolved:
    """The resolved settings and, per setting, the source that set it (absent: default)."""

    settings: Settings
    origins: Mapping[str, Source] = field(default_factory=dict)


@dataclass(frozen=True)
class SettingSpec:
    name: str
    help: str
    parse: Parser
    metavar: str
    choices: tuple[str, ...] = ()

    @property
    def cli_flag(self) -> str:
        return CLI_PREFIX + self.name.replace("_", "-")

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def ini_key(self) -> str:
        return INI_PREFIX + self.name

    @property
    def is_flag(self) -> bool:
        return self.metavar == "BOOL"


_HTTP = ("http", "https")

SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "strict", "turn every requires_* skip into a failure (nightly CI)", parse_bool, "BOOL"
    ),
    SettingSpec(
        "probe_timeout",
        "seconds each requirement probe may take (default 1)",
        parse_seconds,
        "SECONDS",
    ),
    SettingSpec(
        "probe_cloud",
        "requires_cloud also sends an authenticated GET /v1/models to the cloud API",
        parse_bool,
        "BOOL",
    ),
    SettingSpec(
        "cloud_base_url",
        "base URL of the cloud API probed by requires_cloud (default https://api.openai.com)",
        url_parser(_HTTP, "https://api.openai.com"),
        "URL",
    ),
    SettingSpec(
        "cloud_key_env",
        "environment variable(s), comma-separated, holding the cloud API key",
        parse_env_names,
        "NAMES",
    ),
    SettingSpec(
        "vllm_url",
        "vLLM server for requires_vllm (default http://127.0.0.1:8000)",
        url_parser(_HTTP, "http://127.0.0.1:8000"),
        "URL",
    ),
    SettingSpec(
        "ollama_url",
        "Ollama server for requires_ollama (default http://127.0.0.1:11434)",
        url_parser(_HTTP, "http://127.0.0.1:11434"),
        "URL",
    ),
    SettingSpec(
        "llamacpp_url",
        "llama.cpp server for requires_llamacpp (default http://127.0.0.1:8080)",
        url_parser(_HTTP, "http://127.0.0.1:8080"),
        "URL",
    ),
    SettingSpec(
        "redis_url",
        "Redis for requires_redis (default redis://127.0.0.1:6379)",
        url_parser(("redis", "rediss", "unix"), "redis://127.0.0.1:6379/0"),
        "URL",
    ),
    SettingSpec(
        "gateway_url",
        "LLM gateway for requires_gateway (default http://127.0.0.1:4000, LiteLLM's port)",
        url_parser(_HTTP, "http://127.0.0.1:4000"),
        "URL",
    ),
    SettingSpec(
        "backend",
        "how the stack runs: local subprocesses, docker (testcontainers), or external URLs",
        choice_parser(BACKENDS),
        "NAME",
        BACKENDS,
    ),
    SettingSpec(
        "profile",
        "profile file (aistack.yaml): settings under its 'settings:' key, plus the stack",
        parse_optional_path,
        "PATH",
    ),
    SettingSpec(
        "stack_file",
        "stack file (stack.yaml) the local and docker backends run (default: the reference stack)",
        parse_stack_file,
        "PATH",
    ),
    SettingSpec(
        "keep_up", "leave the stack running after the session (debugging)", parse_bool, "BOOL"
    ),
    SettingSpec(
        "chaos_engine",
        "which Toxiproxy: auto, embedded (Python), binary (toxiproxy-server), docker",
        choice_parser(CHAOS_ENGINES),
        "NAME",
        CHAOS_ENGINES,
    ),
    SettingSpec(
        "toxiproxy_bin",
        "toxiproxy-server executable (default: looked up on PATH)",
        parse_optional_str,
        "PATH",
    ),
    SettingSpec("report_dir", "directory for result files (default results)", parse_path, "DIR"),
    SettingSpec(
        "docker_services_image",
        "docker backend: image of our services (default pytest-aistack:local)",
        parse_image,
        "IMAGE",
    ),
    SettingSpec(
        "docker_redis_image",
        "docker backend: Redis image (default redis:7-alpine)",
        parse_image,
        "IMAGE",
    ),
    SettingSpec(
        "docker_toxiproxy_image",
        "docker backend: Toxiproxy image (default ghcr.io/shopify/toxiproxy:2.12.0)",
        parse_image,
        "IMAGE",
    ),
    SettingSpec(
        "docker_ryuk",
        "docker backend: testcontainers' Ryuk reaper: auto (on if its image is present), on, off",
        choice_parser(DOCKER_RYUK),
        "NAME",
        DOCKER_RYUK,
    ),
)

SPECS_BY_NAME: Mapping[str, SettingSpec] = {spec.name: spec for spec in SETTING_SPECS}
assert set(SPECS_BY_NAME) == {f.name for f in fields(Settings)}, "spec table out of sync"


def resolve_settings(
    *,
    cli: Layer,
    env: Mapping[str, str],
    config_files: Iterable[Layer],
    invocation_dir: Path,
    default_dir: Path,
) -> Resolved:
    """The one place settings are resolved: CLI > env > config files > profile > defaults.

    ``config_files`` are the [tool.aistack] and ini layers (see :func:`read_tool_aistack`
    and :func:`settings_from_pytest`); when two of them set the same setting to
    different values that is an error, since neither is clearly meant. ``default_dir``
    anchors relative defaults (``report_dir``).
    """
    env_layer: dict[str, tuple[object, Source]] = {}
    for spec in SETTING_SPECS:
        value = env.get(spec.env_var, "")
        if value.strip():
            env_layer[spec.name] = (
                value,
                Source(f"environment variable {spec.env_var}", invocation_dir),
            )
    file_layer = _merge_config_files(config_files)

    upper_layers: list[Layer] = [cli, env_layer, file_layer]
    profile_path = _pick("profile", upper_layers)
    profile_layer: Layer = {}
    if profile_path is not None:
        path = _parse_value(SPECS_BY_NAME["profile"], *profile_path)
        if path is not None:
            profile_layer = read_profile_settings(cast(Path, path), SPECS_BY_NAME)

    values: dict[str, Any] = {}
    origins: dict[str, Source] = {}
    for spec in SETTING_SPECS:
        picked = _pick(spec.name, [*upper_layers, profile_layer])
        if picked is None:
            default = getattr(Settings(), spec.name)
            if isinstance(default, Path) and not default.is_absolute():
                default = default_dir / default
            values[spec.name] = default
            continue
        values[spec.name] = _parse_value(spec, *picked)
        origins[spec.name] = picked[1]
    return Resolved(Settings(**values), origins)


def _pick(name: str, layers: Iterable[Layer]) -> tuple[object, Source] | None:
    for layer in layers:
        if name in layer:
            return layer[name]
    return None


def _parse_value(spec: SettingSpec, raw: object, source: Source) -> Any:
    try:
        return spec.parse(raw, source.base_dir)
    except ValueError as exc:
        raise SettingsError(
            f"aistack: invalid {spec.name} {raw!r} from {source.label}: {exc}"
        ) from None


def _merge_config_files(layers: Iterable[Layer]) -> Layer:
    merged: dict[str, tuple[object, Source]] = {}
    for layer in layers:
        for name, (raw, source) in layer.items():
            if name in merged and merged[name][0] != raw:
                other_raw, other = merged[name]
                raise SettingsError(
                    f"aistack: {name} is set twice: {other_raw!r} in {other.label} and "
                    f"{raw!r} in {source.label}; keep one of them"
                )
            merged[name] = (raw, source)
    return merged


def settings_to_text(settings: Settings) -> dict[str, str]:
    """Each setting as a display string (paths and None spelled out)."""
    out: dict[str, str] = {}
    for spec in SETTING_SPECS:
        value = getattr(settings, spec.name)
        out[spec.name] = "-" if value is None else str(value)
    return out


def resolve_outside_pytest(
    *, cwd: Path | None = None, cli: Mapping[str, object] | None = None
) -> Resolved:
    """Settings for commands such as ``aistack doctor``: env, the nearest pyproject, profile."""
    base = cwd or Path.cwd()
    pyproject = find_pyproject(base)
    files = [read_tool_aistack(pyproject, SPECS_BY_NAME)] if pyproject is not None else []
    cli_layer = {
        name: (raw, Source(SPECS_BY_NAME[name].cli_flag, base))
        for name, raw in (cli or {}).items()
        if raw is not None
    }
    return resolve_settings(
        cli=cli_layer,
        env=os.environ,
        config_files=files,
        invocation_dir=base,
        default_dir=pyproject.parent if pyproject is not None else base,
    )


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


def option_dest(name: str) -> str:
    """The argparse destination of a setting's command-line option."""
    return "aistack_" + name


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
