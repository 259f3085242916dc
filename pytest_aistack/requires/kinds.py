"""The ``requires_*`` kinds: every fact about each marker kind, once.

:data:`KINDS` is read by marker registration (``pytest --markers``), by the checker
(probes, skip reasons and their hints) and by ``aistack doctor`` (its rows, what each
is for, the fix). A new kind is one entry here.

Importing this module is cheap (the plugin imports it to register markers): the probes,
and httpx with them, are imported when a probe is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_aistack.requires import cloud
from pytest_aistack.requires.options import CloudOptions, ModelOptions, NoOptions
from pytest_aistack.requires.target import Target
from pytest_aistack.settings import SPECS_BY_NAME

if TYPE_CHECKING:
    from pytest_aistack.requires.probes import Probe
    from pytest_aistack.settings import Settings

ProbeFactory = Callable[["Settings", Any], "Probe | None"]
ModelMatch = Callable[[Sequence[str], str], bool]


def listed_exactly(listed: Sequence[str], model: str) -> bool:
    return model in listed


@dataclass(frozen=True, kw_only=True)
class DoctorRow:
    """How ``aistack doctor`` shows a kind: by running its probe, unless ``check`` is given."""

    part: str  # the row's name, also what --require accepts
    needed_for: str
    fix: str = ""  # shown when the probe gets no answer
    # A check without the network: settings -> (ok, detail, fix).
    check: Callable[[Settings], tuple[bool, str, str]] | None = None


@dataclass(frozen=True, kw_only=True)
class RequirementKind:
    marker: str
    help: str  # for `pytest --markers`; "{vllm_url}" etc. are shown as written
    options: type[Any] = NoOptions
    target: str  # named in skip reasons: "no vLLM at ..."
    setting: str | None  # the setting that says where the target is
    probe: ProbeFactory  # (settings, marker options) -> the probe; None: no request
    # The hint when the setting is not the way to point the marker elsewhere.
    hint_without_setting: str = ""
    # Whether a model list names the marker's model= (Ollama adds a default tag).
    lists_model: ModelMatch = listed_exactly
    # How the marker's options change the target beyond the probe (requires_cloud's keys).
    adjust: Callable[[Target, Settings, Any], Target] | None = None
    doctor: DoctorRow

    @property
    def signature(self) -> str:
        """``requires_vllm(*, model=None)``, as ``pytest --markers`` lists it."""
        fields = dataclasses.fields(self.options)
        if not fields:
            return self.marker
        return f"{self.marker}(*, {', '.join(f'{f.name}={f.default!r}' for f in fields)})"

    @property
    def hint(self) -> str:
        """``set AISTACK_VLLM_URL or [tool.aistack] vllm_url``: the end of each skip reason."""
        if self.setting is None:
            return self.hint_without_setting
        return f"set {SPECS_BY_NAME[self.setting].env_var} or [tool.aistack] {self.setting}"

    def target_for(self, settings: Settings, options: Any) -> Target:
        """What this marker with ``options`` asks for; ``TypeError`` for bad arguments."""
        target = Target(self.target, self.probe(settings, options), self.hint)
        return target if self.adjust is None else self.adjust(target, settings, options)


def _vllm(settings: Settings, options: ModelOptions) -> Probe:
    from pytest_aistack.requires.probes import openai_models_probe

    return openai_models_probe("vllm", settings.vllm_url)


def _ollama(settings: Settings, options: ModelOptions) -> Probe:
    from pytest_aistack.requires.probes import ollama_tags_probe

    return ollama_tags_probe(settings.ollama_url)


def _ollama_lists(listed: Sequence[str], model: str) -> bool:
    # Ollama names carry a tag; "llama3" means "llama3:latest" (ollama's own default).
    return model in listed or (":" not in model and f"{model}:latest" in listed)


def _llamacpp(settings: Settings, options: NoOptions) -> Probe:
    from pytest_aistack.requires.probes import health_probe

    # llama.cpp's server answers /health 200 once the model is loaded and 503 while
    # it loads (the llama.cpp server README, "GET /health").
    return health_probe("llamacpp", settings.llamacpp_url, ["/health"])


def _gateway(settings: Settings, options: NoOptions) -> Probe:
    from pytest_aistack.requires.probes import health_probe

    # LiteLLM (litellm/proxy/health_endpoints/_health_endpoints.py): /health needs a key
    # and calls every model; /health/liveliness needs neither. Other gateways mostly
    # have a plain /health.
    return health_probe("gateway", settings.gateway_url, ["/health/liveliness", "/health"])


def _redis(settings: Settings, options: NoOptions) -> Probe:
    from pytest_aistack.requires.probes import redis_probe

    return redis_probe(settings.redis_url)


def _docker(settings: Settings, options: NoOptions) -> Probe:
    from pytest_aistack.requires.probes import docker_probe

    return docker_probe()


# In `aistack doctor`'s row order; `pytest --markers` lists them in this order too.
KINDS: tuple[RequirementKind, ...] = (
    RequirementKind(
        marker="requires_docker",
        help="skip unless a Docker engine (DOCKER_HOST or /var/run/docker.sock) answers GET /_ping",
        target="Docker engine",
        setting=None,
        probe=_docker,
        hint_without_setting="start the Docker daemon or set DOCKER_HOST",
        doctor=DoctorRow(
            part="docker",
            needed_for="backend=docker, requires_docker",
            fix="start the Docker daemon or set DOCKER_HOST",
        ),
    ),
    RequirementKind(
        marker="requires_vllm",
        help="skip unless GET {vllm_url}/v1/models answers 200 with an OpenAI model list "
        "(listing `model` if given)",
        options=ModelOptions,
        target="vLLM",
        setting="vllm_url",
        probe=_vllm,
        doctor=DoctorRow(
            part="vllm",
            needed_for="requires_vllm tests",
            fix="start vLLM there or set AISTACK_VLLM_URL",
        ),
    ),
    RequirementKind(
        marker="requires_ollama",
        help="skip unless GET {ollama_url}/api/tags answers 200 (listing `model` if given)",
        options=ModelOptions,
        target="Ollama",
        setting="ollama_url",
        probe=_ollama,
        lists_model=_ollama_lists,
        doctor=DoctorRow(
            part="ollama",
            needed_for="requires_ollama tests",
            fix="start Ollama there or set AISTACK_OLLAMA_URL",
        ),
    ),
    RequirementKind(
        marker="requires_llamacpp",
        help="skip unless GET {llamacpp_url}/health answers 200",
        target="llama.cpp server",
        setting="llamacpp_url",
        probe=_llamacpp,
        doctor=DoctorRow(
            part="llamacpp",
            needed_for="requires_llamacpp tests",
            fix="start llama-server there or set AISTACK_LLAMACPP_URL",
        ),
    ),
    RequirementKind(
        marker="requires_gateway",
        help="skip unless the gateway answers GET {gateway_url}/health/liveliness or /health",
        target="gateway",
        setting="gateway_url",
        probe=_gateway,
        doctor=DoctorRow(
            part="gateway",
            needed_for="requires_gateway tests, backend=external",
            fix="start the gateway (aistack up) or set AISTACK_GATEWAY_URL",
        ),
    ),
    RequirementKind(
        marker="requires_redis",
        help="skip unless Redis at {redis_url} answers PING",
        target="Redis",
        setting="redis_url",
        probe=_redis,
        doctor=DoctorRow(
            part="redis",
            needed_for="requires_redis tests",
            fix="start Redis there or set AISTACK_REDIS_URL",
        ),
    ),
    RequirementKind(
        marker="requires_cloud",
        help="skip unless a cloud API key is set (default OPENAI_API_KEY; provider='anthropic' "
        "etc.); with --aistack-probe-cloud also GET /v1/models at the API",
        options=CloudOptions,
        target="cloud API",
        setting="cloud_base_url",
        probe=cloud.models_probe,
        adjust=cloud.with_keys,
        doctor=DoctorRow(
            part="cloud-key", needed_for="requires_cloud tests", check=cloud.key_status
        ),
    ),
)

KINDS_BY_MARKER: dict[str, RequirementKind] = {kind.marker: kind for kind in KINDS}
