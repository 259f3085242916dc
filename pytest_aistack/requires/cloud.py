"""``requires_cloud``: which key variables must be set, and the opt-in authenticated probe.

Without arguments the marker uses the ``cloud_key_env`` and ``cloud_base_url`` settings;
``provider=`` picks a known provider's key variable and API, ``key_env=`` names the key
variable. The probe (``GET /v1/models`` with the key) is sent only under ``probe_cloud``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_aistack.requires.options import CloudOptions
from pytest_aistack.requires.target import Target

if TYPE_CHECKING:
    from pytest_aistack.requires.probes import Probe
    from pytest_aistack.settings import Settings


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


@dataclass(frozen=True)
class CloudAPI:
    label: str  # "cloud" (the settings' API) or the provider's name
    key_envs: tuple[str, ...]
    base_url: str
    auth: str


def cloud_api(settings: Settings, options: CloudOptions) -> CloudAPI:
    """The API and key variables the marker's options select; ``TypeError`` if unknown."""
    if options.provider is None:
        api = CloudAPI("cloud", settings.cloud_key_envs, settings.cloud_base_url, "bearer")
    else:
        provider = CLOUD_PROVIDERS.get(options.provider)
        if provider is None and options.key_env is None:
            raise TypeError(
                f"@pytest.mark.requires_cloud(provider={options.provider!r}): unknown "
                f"provider; known: {', '.join(CLOUD_PROVIDERS)} (or pass key_env=...)"
            )
        if provider is None:
            api = CloudAPI(options.provider, (), settings.cloud_base_url, "bearer")
        else:
            api = CloudAPI(options.provider, (provider.key_env,), provider.base_url, provider.auth)
    if options.key_env is not None:
        api = dataclasses.replace(api, key_envs=(options.key_env,))
    return api


def unset_keys(names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not os.environ.get(name, "").strip()]


def models_probe(settings: Settings, options: CloudOptions) -> Probe | None:
    """``GET {base}/v1/models`` with the key, under ``probe_cloud`` and when a key is set."""
    from pytest_aistack.requires.probes import openai_models_probe

    if not settings.probe_cloud:
        return None
    api = cloud_api(settings, options)
    key = os.environ.get(api.key_envs[0], "") if api.key_envs else ""
    if not key:
        return None  # reported by the key check; no request without a key
    if api.auth == "x-api-key":
        # Anthropic's models endpoint wants its version header (docs.anthropic.com).
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    else:
        headers = {"Authorization": f"Bearer {key}"}
    # Cloud APIs may sit behind the user's HTTP proxy: honour the environment.
    return openai_models_probe(f"cloud:{api.key_envs[0]}", api.base_url, headers, trust_env=True)


def with_keys(target: Target, settings: Settings, options: CloudOptions) -> Target:
    """``target`` named after the provider, unmet while a key variable is unset."""
    api = cloud_api(settings, options)
    hint = target.hint
    if options.provider is not None:
        hint = "check the key and the network path to the provider"
    unmet = None
    unset = unset_keys(api.key_envs)
    if unset:
        names = ", ".join(unset)
        verb = "is" if len(unset) == 1 else "are"
        where = "[tool.aistack] cloud_key_env"
        if options.provider is not None:
            where = "pass key_env= to the marker"
        unmet = (
            f"no API key for {api.label} (environment variable {names} {verb} not set or "
            f"empty); set {names} or {where}"
        )
    return dataclasses.replace(target, name=f"{api.label} API", hint=hint, unmet=unmet)


def key_status(settings: Settings) -> tuple[bool, str, str]:
    """``aistack doctor``'s row for the settings' key variables: (ok, detail, fix)."""
    names = settings.cloud_key_envs
    unset = unset_keys(names)
    detail = f"{', '.join(names)} set" if not unset else f"{', '.join(unset)} not set"
    first = unset[0] if unset else ", ".join(names)
    return not unset, detail, f"export {first}=<key>, or set AISTACK_CLOUD_KEY_ENV"
