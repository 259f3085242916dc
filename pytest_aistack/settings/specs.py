"""The setting table: one :class:`SettingSpec` per :class:`Settings` field, naming its
command-line option, environment variable, ini key, parser and help text. The plugin's
options, the docs table and every layer's reader are generated from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from pytest_aistack.settings.model import BACKENDS, CHAOS_ENGINES, DOCKER_RYUK, Settings
from pytest_aistack.settings.values import (
    HTTP_SCHEMES,
    Parser,
    backend_name_parser,
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

ENV_PREFIX = "AISTACK_"
INI_PREFIX = "aistack_"
CLI_PREFIX = "--aistack-"


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
        url_parser(HTTP_SCHEMES, "https://api.openai.com"),
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
        url_parser(HTTP_SCHEMES, "http://127.0.0.1:8000"),
        "URL",
    ),
    SettingSpec(
        "ollama_url",
        "Ollama server for requires_ollama (default http://127.0.0.1:11434)",
        url_parser(HTTP_SCHEMES, "http://127.0.0.1:11434"),
        "URL",
    ),
    SettingSpec(
        "llamacpp_url",
        "llama.cpp server for requires_llamacpp (default http://127.0.0.1:8080)",
        url_parser(HTTP_SCHEMES, "http://127.0.0.1:8080"),
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
        url_parser(HTTP_SCHEMES, "http://127.0.0.1:4000"),
        "URL",
    ),
    SettingSpec(
        "backend",
        "how the stack runs: local subprocesses, docker (testcontainers), external URLs, "
        "or a plugin's backend",
        backend_name_parser(BACKENDS),
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


def option_dest(name: str) -> str:
    """The argparse destination of a setting's command-line option."""
    return "aistack_" + name
