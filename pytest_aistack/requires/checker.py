"""``requires_*`` markers: probe once per session, skip (or fail, in strict mode) precisely.

After collection (and after ``-k``/``-m`` deselection) the checker gathers the
requirements of the tests that will run, probes each distinct target once, all
concurrently, and at each test's setup — before any fixture runs — skips it with
a reason that says what was probed, where, what happened and how to point it
elsewhere::

    requires_vllm: no vLLM at http://127.0.0.1:8000 (GET /v1/models: connection
    refused after 2 ms); set AISTACK_VLLM_URL or [tool.aistack] vllm_url

Under ``--aistack-strict`` the same reason fails the test instead.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_aistack.plugin.markers import MARKERS_BY_NAME as _ALL_MARKERS
from pytest_aistack.plugin.markers import (
    REQUIRES_MARKERS,
    CloudOptions,
    marker_options,
)
from pytest_aistack.requires.probes import (
    Probe,
    ProbeResult,
    docker_probe,
    health_probe,
    ollama_tags_probe,
    openai_models_probe,
    redis_probe,
    run_probes,
)
from pytest_aistack.settings import SPECS_BY_NAME, Settings


@dataclass(frozen=True)
class CloudProvider:
    key_env: str
    base_url: str
    # How the key is sent: "bearer" (Authorization: Bearer) or "x-api-key" (Anthropic).
    auth: str = "bearer"


# Key variables follow LiteLLM's naming (docs.litellm.ai/docs/providers); base URLs are
# each provider's OpenAI-style root, under which GET /v1/models lists models.
CLOUD_PROVIDERS: dict[str, CloudProvider] = {
    "openai": CloudProvider("OPENAI_API_KEY", "https://api.openai.com"),
    "anthropic": CloudProvider("ANTHROPIC_API_KEY", "https://api.anthropic.com", "x-api-key"),
    "mistral": CloudProvider("MISTRAL_API_KEY", "https://api.mistral.ai"),
    "groq": CloudProvider("GROQ_API_KEY", "https://api.groq.com/openai"),
    "deepseek": CloudProvider("DEEPSEEK_API_KEY", "https://api.deepseek.com"),
    "openrouter": CloudProvider("OPENROUTER_API_KEY", "https://openrouter.ai/api"),
}

# marker -> (what it looks for, the setting that points it elsewhere)
_TARGETS: dict[str, tuple[str, str | None]] = {
    "requires_vllm": ("vLLM", "vllm_url"),
    "requires_ollama": ("Ollama", "ollama_url"),
    "requires_llamacpp": ("llama.cpp server", "llamacpp_url"),
    "requires_redis": ("Redis", "redis_url"),
    "requires_gateway": ("gateway", "gateway_url"),
    "requires_docker": ("Docker engine", None),
    "requires_cloud": ("cloud API", "cloud_base_url"),
}


def _hint(setting: str | None) -> str:
    if setting is None:
        return "start the Docker daemon or set DOCKER_HOST"
    spec = SPECS_BY_NAME[setting]
    return f"set {spec.env_var} or [tool.aistack] {setting}"


@dataclass(frozen=True)
class Requirement:
    marker: str
    options: Any

    def validate(self, settings: Settings) -> None:
        """Raise ``TypeError`` for marker arguments only the settings can judge."""
        if self.marker == "requires_cloud":
            self._cloud(settings)

    def probe(self, settings: Settings) -> Probe | None:
        """The probe this requirement needs (None: nothing to send over the network)."""
        if self.marker == "requires_vllm":
            return openai_models_probe("vllm", settings.vllm_url)
        if self.marker == "requires_ollama":
            return ollama_tags_probe(settings.ollama_url)
        if self.marker == "requires_llamacpp":
            # llama.cpp's server answers /health 200 once the model is loaded and 503 while
            # it loads (the llama.cpp server README, "GET /health").
            return health_probe("llamacpp", settings.llamacpp_url, ["/health"])
        if self.marker == "requires_gateway":
            # LiteLLM (litellm/proxy/health_endpoints/_health_endpoints.py): /health needs
            # a key and calls every model; /health/liveliness needs neither. Other gateways
            # mostly have a plain /health.
            return health_probe("gateway", settings.gateway_url, ["/health/liveliness", "/health"])
        if self.marker == "requires_redis":
            return redis_probe(settings.redis_url)
        if self.marker == "requires_docker":
            return docker_probe()
        if self.marker == "requires_cloud" and settings.probe_cloud:
            return self._cloud_probe(settings)
        return None

    def _cloud(self, settings: Settings) -> tuple[str, tuple[str, ...], str, str]:
        """(provider label, key variables, base URL, auth style); TypeError if unknown."""
        options: CloudOptions = self.options
        if options.provider is None:
            keys = settings.cloud_key_envs
            label, base, auth = "cloud", settings.cloud_base_url, "bearer"
        else:
            provider = CLOUD_PROVIDERS.get(options.provider)
            if provider is None and options.key_env is None:
                raise TypeError(
                    f"@pytest.mark.requires_cloud(provider={options.provider!r}): unknown "
                    f"provider; known: {', '.join(CLOUD_PROVIDERS)} (or pass key_env=...)"
                )
            keys = (provider.key_env,) if provider is not None else ()
            base = provider.base_url if provider is not None else settings.cloud_base_url
            auth = provider.auth if provider is not None else "bearer"
            label = options.provider
        if options.key_env is not None:
            keys = (options.key_env,)
        return label, keys, base, auth

    def _cloud_probe(self, settings: Settings) -> Probe | None:
        _, keys, base, auth = self._cloud(settings)
        key = os.environ.get(keys[0], "") if keys else ""
        if not key:
            return None  # reported by the key check; no request without a key
        if auth == "x-api-key":
            # Anthropic's models endpoint wants its version header (docs.anthropic.com).
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        else:
            headers = {"Authorization": f"Bearer {key}"}
        # Cloud APIs may sit behind the user's HTTP proxy: honour the environment.
        return openai_models_probe(f"cloud:{keys[0]}", base, headers, trust_env=True)

    def missing(
        self, settings: Settings, results: dict[tuple[str, str], ProbeResult]
    ) -> str | None:
        """The skip reason if this requirement is not met, else None."""
        what, setting = _TARGETS[self.marker]
        hint = _hint(setting)
        if self.marker == "requires_cloud":
            label, keys, _, _ = self._cloud(settings)
            unset = [name for name in keys if not os.environ.get(name, "").strip()]
            if unset:
                names = ", ".join(unset)
                verb = "is" if len(unset) == 1 else "are"
                where = "[tool.aistack] cloud_key_env"
                if self.options.provider is not None:
                    where = "pass key_env= to the marker"
                return (
                    f"{self.marker}: no API key for {label} (environment variable {names} "
                    f"{verb} not set or empty); set {names} or {where}"
                )
            what = f"{label} API"
            if self.options.provider is not None:
                hint = "check the key and the network path to the provider"
        probe = self.probe(settings)
        if probe is None:
            return None
        result = results[probe.key]
        if not result.ok:
            return f"{self.marker}: no {what} at {probe.where} ({result.describe()}); {hint}"
        model = getattr(self.options, "model", None)
        if model is not None:
            listed = result.models or ()
            if not _lists_model(listed, model, ollama=self.marker == "requires_ollama"):
                shown = ", ".join(listed[:8]) + (", ..." if len(listed) > 8 else "")
                return (
                    f"{self.marker}: {what} at {probe.where} does not list model {model!r} "
                    f"({result.describe()}; listed: {shown or 'none'}); {hint}"
                )
        return None


def _lists_model(listed: Sequence[str], model: str, *, ollama: bool) -> bool:
    # Ollama names carry a tag; "llama3" means "llama3:latest" (ollama's own default).
    return model in listed or (ollama and ":" not in model and f"{model}:latest" in listed)


_UNMET_KEY = pytest.StashKey[str]()


class RequirementChecker:
    """The stateful part of the plugin: registered once per session in pytest_configure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.results: dict[tuple[str, str], ProbeResult] = {}
        self.probes: list[Probe] = []
        self._requirements: dict[str, list[Requirement]] = {}
        self._misuse: dict[str, TypeError] = {}
        # reason -> (marker, node ids of the tests it stopped)
        self.unmet: dict[str, tuple[str, set[str]]] = {}
        self.stopped: set[str] = set()

    # -- collection ---------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)  # after -k/-m deselection: probe only what will run
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        probes: dict[tuple[str, str], Probe] = {}
        for item in items:
            try:
                requirements = self._item_requirements(item)
            except TypeError as exc:
                self._misuse[item.nodeid] = exc
                continue
            self._requirements[item.nodeid] = requirements
            for requirement in requirements:
                try:
                    requirement.validate(self.settings)
                    probe = requirement.probe(self.settings)
                except TypeError as exc:
                    self._misuse[item.nodeid] = exc
                    continue
                if probe is not None:
                    probes.setdefault(probe.key, probe)
        self.probes = list(probes.values())
        results = run_probes(self.probes, self.settings.probe_timeout)
        self.results = {
            probe.key: result for probe, result in zip(self.probes, results, strict=True)
        }

    @staticmethod
    def _item_requirements(item: pytest.Item) -> list[Requirement]:
        requirements: list[Requirement] = []
        for mark in item.iter_markers():
            if mark.name not in _ALL_MARKERS:
                continue
            options = marker_options(mark)
            if mark.name in REQUIRES_MARKERS:
                requirement = Requirement(mark.name, options)
                if requirement not in requirements:
                    requirements.append(requirement)
        return requirements

    def pytest_report_collectionfinish(self) -> list[str]:
        if not self.probes:
            return ["aistack probes: none needed by the selected tests"]
        lines = []
        for probe in self.probes:
            result = self.results[probe.key]
            state = "ok" if result.ok else "FAILED"
            models = ""
            if result.models is not None:
                models = f", {len(result.models)} model(s)"
            lines.append(
                f"aistack probe {probe.kind} {probe.where}: {state} ({result.describe()}{models})"
            )
        return lines

    # -- running ------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before fixtures: a missing backend is not a fixture error
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        __tracebackhide__ = True  # the misuse is in the test's marker, not in this hook
        misuse = self._misuse.get(item.nodeid)
        if misuse is not None:
            raise TypeError(str(misuse)) from None
        reasons: list[str] = []
        for requirement in self._requirements.get(item.nodeid, ()):
            reason = requirement.missing(self.settings, self.results)
            if reason is None:
                continue
            reasons.append(reason)
            self.unmet.setdefault(reason, (requirement.marker, set()))[1].add(item.nodeid)
        if not reasons:
            return
        self.stopped.add(item.nodeid)
        message = " | ".join(reasons)
        if self.settings.strict:
            item.stash[_UNMET_KEY] = message
            pytest.fail(message, pytrace=False)
        # Point the skip at the test, as pytest does for its own skip marks.
        raise pytest.skip.Exception(message, _use_item_location=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "setup" and report.failed and _UNMET_KEY in item.stash:
            report.user_properties.append(("aistack_unmet_requirement", item.stash[_UNMET_KEY]))
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        # Strict mode reports an unmet requirement as a failed test, not as a setup
        # error: the test did not fail to set up, its precondition is absent.
        if (
            report.when == "setup"
            and report.failed
            and any(key == "aistack_unmet_requirement" for key, _ in report.user_properties)
        ):
            return "failed", "F", "FAILED"
        return None

    # -- summary ------------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        lines = self.summary_lines()
        if not lines:
            return
        terminalreporter.section("aistack", sep="=")
        for line in lines:
            terminalreporter.line(line)

    def summary_lines(self) -> list[str]:
        if not self.stopped:
            return []
        count = len(self.stopped)
        tests = "test" if count == 1 else "tests"
        verb = "failed" if self.settings.strict else "skipped"
        strict = " (--aistack-strict)" if self.settings.strict else ""
        lines = [f"aistack: {count} {tests} {verb} for missing requirements{strict}"]
        for reason, (marker, nodeids) in sorted(self.unmet.items()):
            detail = reason.removeprefix(f"{marker}: ")
            lines.append(f"- {marker} x{len(nodeids)}: {detail}")
        return lines
