"""The markers pytest-aistack registers, their signatures, and their typed options.

A marker's arguments become a keyword-only, frozen options object; anything else
(a positional argument, an unknown keyword, a wrong type) is a ``TypeError`` that
names the marker, the offending argument and the accepted ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest


@dataclass(frozen=True, kw_only=True)
class NoOptions:
    pass


@dataclass(frozen=True, kw_only=True)
class ModelOptions:
    """``model=``: the server must also list this model id."""

    model: str | None = None


@dataclass(frozen=True, kw_only=True)
class CloudOptions:
    """``provider=``: a known provider's key variable and API; ``key_env=`` overrides the key."""

    provider: str | None = None
    key_env: str | None = None


@dataclass(frozen=True)
class MarkerSpec:
    name: str
    signature: str
    help: str
    options: type[Any]


MARKERS: tuple[MarkerSpec, ...] = (
    MarkerSpec(
        "resilience",
        "resilience",
        "a resilience scenario: faults are injected into the stack (select: -m resilience)",
        NoOptions,
    ),
    MarkerSpec(
        "conformance",
        "conformance",
        "a serving-stack conformance check: a promise of the servers in the profile's "
        "conformance: section (select: -m conformance; docs/conformance.md)",
        NoOptions,
    ),
    MarkerSpec(
        "load",
        "load",
        "a load test: drives traffic through the stack (select: -m load)",
        NoOptions,
    ),
    MarkerSpec(
        "requires_cloud",
        "requires_cloud(*, provider=None, key_env=None)",
        "skip unless a cloud API key is set (default OPENAI_API_KEY; provider='anthropic' "
        "etc.); with --aistack-probe-cloud also GET /v1/models at the API",
        CloudOptions,
    ),
    MarkerSpec(
        "requires_vllm",
        "requires_vllm(*, model=None)",
        "skip unless GET {vllm_url}/v1/models answers 200 with an OpenAI model list "
        "(listing `model` if given)",
        ModelOptions,
    ),
    MarkerSpec(
        "requires_ollama",
        "requires_ollama(*, model=None)",
        "skip unless GET {ollama_url}/api/tags answers 200 (listing `model` if given)",
        ModelOptions,
    ),
    MarkerSpec(
        "requires_llamacpp",
        "requires_llamacpp",
        "skip unless GET {llamacpp_url}/health answers 200",
        NoOptions,
    ),
    MarkerSpec(
        "requires_redis",
        "requires_redis",
        "skip unless Redis at {redis_url} answers PING",
        NoOptions,
    ),
    MarkerSpec(
        "requires_docker",
        "requires_docker",
        "skip unless a Docker engine (DOCKER_HOST or /var/run/docker.sock) answers GET /_ping",
        NoOptions,
    ),
    MarkerSpec(
        "requires_gateway",
        "requires_gateway",
        "skip unless the gateway answers GET {gateway_url}/health/liveliness or /health",
        NoOptions,
    ),
)

MARKERS_BY_NAME = {spec.name: spec for spec in MARKERS}
REQUIRES_MARKERS = tuple(spec.name for spec in MARKERS if spec.name.startswith("requires_"))


def register_markers(config: pytest.Config) -> None:
    for spec in MARKERS:
        config.addinivalue_line("markers", f"{spec.signature}: {spec.help}")


def marker_options(mark: pytest.Mark) -> Any:
    """The options object for one applied marker, or a ``TypeError`` explaining the misuse."""
    spec = MARKERS_BY_NAME[mark.name]
    accepted = [f.name for f in dataclasses.fields(spec.options)]
    accepted_text = ", ".join(f"{name}=" for name in accepted) or "no arguments"
    if mark.args:
        raise TypeError(
            f"@pytest.mark.{mark.name} takes keyword arguments only, got positional "
            f"{', '.join(repr(arg) for arg in mark.args)}; accepted: {accepted_text}"
        )
    unknown = sorted(set(mark.kwargs) - set(accepted))
    if unknown:
        raise TypeError(
            f"@pytest.mark.{mark.name} got unexpected keyword argument(s) "
            f"{', '.join(unknown)}; accepted: {accepted_text}"
        )
    for key, value in mark.kwargs.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"@pytest.mark.{mark.name}({key}=...) expects a string, "
                f"got {type(value).__name__}: {value!r}"
            )
    return spec.options(**mark.kwargs)
