"""What a run is configured with: the frozen :class:`Settings`, the choices its named
fields accept, and :class:`Resolved` (the settings plus where each value came from).

The field defaults here are the ``default`` layer of the precedence in ``resolve``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_aistack.settings.sources import Source

# The built-in backends; a plugin adds more (stack/newhooks.py), so the field is a str.
BackendName = Literal["local", "docker", "external"]
ChaosEngine = Literal["auto", "embedded", "binary", "docker"]
DockerRyuk = Literal["auto", "on", "off"]

BACKENDS: tuple[str, ...] = ("local", "docker", "external")
CHAOS_ENGINES: tuple[str, ...] = ("auto", "embedded", "binary", "docker")
DOCKER_RYUK: tuple[str, ...] = ("auto", "on", "off")


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
    backend: BackendName | str = "local"
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
