"""Derive the stack profile from a LiteLLM proxy config (``aistack profile --from-litellm``).

The result is a mapping in the profile's YAML shape (docs/profile.md), so the profile's
``litellm_config:`` key can lay what the profile states over it (explicit keys win).
What LiteLLM leaves to its defaults is stated as LiteLLM 1.106.2 resolves it
(:mod:`pytest_aistack.stack.litellm.rules`). Two kinds of findings, never dropped:

- **errors**: what cannot be mapped; each names the file, line, key path, value and the
  fix, and the profile key it would have filled (stating that key in the profile settles it);
- **notes**: what the config says that no scenario checks, and every assumption made
  (defaults, proxy names). ``os.environ/VAR`` references are kept, never resolved.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pytest_aistack.runtime.text_files import read_utf8
from pytest_aistack.stack.litellm import rules
from pytest_aistack.stack.litellm.fallbacks import derive_fallbacks
from pytest_aistack.stack.litellm.policy import derive_policy, redis_proxy
from pytest_aistack.stack.litellm.reader import (
    ConfigReader,
    Deployment,
    Derivation,
    Problem,
)
from pytest_aistack.stack.litellm.rules import DIRECT_PLACEHOLDER, ENV_PREFIX, PROXY_PLACEHOLDER
from pytest_aistack.stack.profile_model import ProfileError
from pytest_aistack.stack.yaml_lines import Lines, load_with_lines

__all__ = [
    "Derivation",
    "Problem",
    "derive_from_data",
    "derive_profile",
    "render",
]


# Keys that say where a deployment is or how to authenticate: nothing a scenario checks,
# nothing to report.
_LOCATION_PARAMS = frozenset({"model", "api_base", "api_key", "api_version", "organization"})
_PARAMS_MAPPED = frozenset(
    {"timeout", "stream_timeout", "request_timeout", "rpm", "tpm", "cooldown_time"}
)
_INFO_MAPPED = frozenset({"id", "rpm", "tpm", "cooldown_time"})
_ROUTER_MAPPED = frozenset(
    {
        "routing_strategy",
        "optional_pre_call_checks",
        "num_retries",
        "retry_policy",
        "model_group_retry_policy",
        "allowed_fails",
        "allowed_fails_policy",
        "cooldown_time",
        "disable_cooldowns",
        "timeout",
        "stream_timeout",
        "fallbacks",
        "default_fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "max_fallbacks",
        "redis_host",
        "redis_port",
        "redis_url",
        "redis_password",
    }
)
_SETTINGS_MAPPED = frozenset(
    {
        "num_retries",
        "request_timeout",
        "allowed_fails",
        "fallbacks",
        "default_fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "max_fallbacks",
        "cache",
        "cache_params",
        "model_group_settings",
    }
)


def derive_profile(
    path: Path, *, proxy_map: Mapping[str, str] | None = None, model_group: str | None = None
) -> Derivation:
    """Read the LiteLLM config at ``path`` and derive the profile it implies."""
    try:
        text = read_utf8(
            path,
            what="a LiteLLM config",
            fix="point --from-litellm (or the profile's litellm_config:) at the proxy's "
            "config.yaml, or save this one as UTF-8",
            error=ProfileError,
        )
    except OSError as exc:
        raise ProfileError(
            f"{path}: cannot read the LiteLLM config ({exc.strerror}); "
            "point --from-litellm (or the profile's litellm_config:) at the proxy's config.yaml"
        ) from None
    data, lines = load_with_lines(text, path, ProfileError)
    return derive_from_data(data, path, lines, proxy_map=proxy_map or {}, model_group=model_group)


def derive_from_data(
    data: Any,
    path: Path,
    lines: Lines,
    *,
    proxy_map: Mapping[str, str],
    model_group: str | None = None,
) -> Derivation:
    c = ConfigReader(data, path, lines)
    router = c.section(c.top.get("router_settings"), ("router_settings",))
    settings = c.section(c.top.get("litellm_settings"), ("litellm_settings",))
    deployments = _deployments(c)
    groups: dict[str, list[str]] = {}
    for d in deployments:
        groups.setdefault(d.group, []).append(d.id)
    for key in proxy_map:
        if key != "redis" and key not in {d.id for d in deployments}:
            known = ", ".join(d.id for d in deployments)
            raise ProfileError(
                f"--proxy-map {key}=...: no deployment has model_info.id {key!r}; ids: {known}"
            )

    backends = {d.id: _backend(c, d, proxy_map) for d in deployments}
    if c.named_after_id:
        c.note(
            f"backends.{{{', '.join(c.named_after_id)}}}.proxy: assumed to be the deployment id, "
            "as a real api_base URL does not say which Toxiproxy proxy it goes through "
            "(${proxy_url:NAME} does); --proxy-map ID=PROXY or backends.ID.proxy in the "
            "profile to change it"
        )
    chains = derive_fallbacks(c, router, settings, list(groups)) if groups else {}
    model_groups: dict[str, dict[str, Any]] = {}
    for name, ids in groups.items():
        model_groups[name] = {"deployments": ids}
        if chains.get(name):
            model_groups[name]["fallbacks"] = chains[name]
    primary = model_group or next(iter(groups), "")
    if model_group is not None and model_group not in groups:
        raise ProfileError(
            f"--model-group {model_group!r}: the config has no such model_name; "
            f"groups: {', '.join(groups)}"
        )

    # The policy's timeouts are those of the chain the scenarios exercise first.
    chain = {primary, *chains.get(primary, [])}
    in_chain = [d.id for d in deployments if d.group in chain]
    policy = derive_policy(c, router, settings, deployments, backends, in_chain, primary)
    profile: dict[str, Any] = {
        "gateway": {"url": "", "model_group": primary},
        "toxiproxy": {"url": ""},
    }
    redis = redis_proxy(c, router, settings, proxy_map)
    if redis is not None:
        profile["redis"] = {"proxy": redis}
        policy["redis_recovery_s"] = rules.DEFAULT_REDIS_RECOVERY_S
        c.note(
            f"policy.redis_recovery_s: {rules.DEFAULT_REDIS_RECOVERY_S}, LiteLLM's default; the "
            "proxy's env REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT changes it (it is not in the "
            "config): state policy.redis_recovery_s in the profile if you set it"
        )
    profile.update(backends=backends, model_groups=model_groups, policy=policy)
    c.result.profile = profile
    _other_sections(c, router, settings, list(groups))
    return c.result


def _deployments(c: ConfigReader) -> list[Deployment]:
    model_list = c.top.get("model_list")
    if not isinstance(model_list, list) or not model_list:
        c.fail(("model_groups",), ("model_list",), model_list, "expected a list of deployments")
        return []
    found: list[Deployment] = []
    extra: dict[str, list[str]] = {}
    for i, raw in enumerate(model_list):
        where = ("model_list", str(i))
        entry = c.section(raw, where)
        name = entry.get("model_name")
        if not isinstance(name, str) or not name:
            c.fail(("model_groups",), (*where, "model_name"), name, "expected a model group name")
            continue
        if "*" in name:
            c.fail(
                ("model_groups",),
                (*where, "model_name"),
                name,
                "a wildcard routes any model name to the provider, so it has no deployments "
                "to test; list the model groups you serve by name, or state model_groups in "
                "the profile (the named groups are still derived)",
            )
            continue
        params = c.section(entry.get("litellm_params"), (*where, "litellm_params"))
        info = c.section(entry.get("model_info"), (*where, "model_info"))
        dep_id = info.get("id")
        if dep_id is None or dep_id == "":
            c.fail(
                ("model_groups", name, "deployments"),
                (*where, "model_info"),
                entry.get("model_info"),
                "no model_info.id; LiteLLM then names the deployment with a hash of the group "
                "name and every litellm_params value, secrets from os.environ/ resolved "
                "(Router.generate_model_id), which cannot be derived here; add model_info: "
                f"{{id: NAME}} (x-litellm-model-id then names it too) to deployment {i} "
                f"of {name!r}",
            )
            continue
        dep = Deployment(str(dep_id), name, where, params, info, entry)
        if any(d.id == dep.id for d in found):
            c.fail(
                ("backends", dep.id),
                (*where, "model_info", "id"),
                dep_id,
                "another deployment has this id; give every deployment its own model_info.id",
            )
            continue
        found.append(dep)
        for scope, keys in (
            ("", set(entry) - {"model_name", "litellm_params", "model_info", "rpm", "tpm"}),
            ("litellm_params.", set(params) - _LOCATION_PARAMS - _PARAMS_MAPPED),
            ("model_info.", set(info) - _INFO_MAPPED),
        ):
            for key in keys:
                extra.setdefault(f"model_list[].{scope}{key}", []).append(dep.id)
    for key, ids in extra.items():
        c.note(f"{key} ({', '.join(ids)}): not checked by any scenario")
    return found


def _backend(c: ConfigReader, d: Deployment, proxy_map: Mapping[str, str]) -> dict[str, Any]:
    backend: dict[str, Any] = {"model_group": d.group}
    api_base = d.params.get("api_base")
    target = ("backends", d.id, "proxy")
    if not isinstance(api_base, str) or not api_base:
        c.fail(
            target,
            (*d.where, "litellm_params", "api_base"),
            api_base,
            "no api_base, so the gateway reaches the provider directly and no Toxiproxy proxy "
            "can sit in between; set litellm_params.api_base to the address of the proxy in "
            f"front of {d.id!r} (or state backends.{d.id}.proxy in the profile)",
        )
    elif (proxied := PROXY_PLACEHOLDER.search(api_base)) is not None:
        backend["proxy"] = proxy_map.get(d.id, proxied.group(1))
    elif DIRECT_PLACEHOLDER.search(api_base) is not None and d.id not in proxy_map:
        c.note(
            f"backends.{d.id}: api_base {api_base} bypasses Toxiproxy; no fault can be put on it"
        )
    else:
        backend["proxy"] = proxy_map.get(d.id, d.id)
        if d.id not in proxy_map:
            c.named_after_id.append(d.id)
    for key in ("rpm", "tpm"):
        # Deployment field, then litellm_params, then model_info, as
        # LowestTPMLoggingHandler_v2.pre_call_check reads them.
        for scope, data in (
            ((), d.entry),
            (("litellm_params",), d.params),
            (("model_info",), d.info),
        ):
            where = (*d.where, *scope)
            value = c.number(data, key, where, ("policy", "rate_limit"), whole=True)
            if value == 0:
                c.fail(("backends", d.id), (*where, key), value,
                       f"a {key} of 0 admits nothing; remove it or set a limit >= 1")  # fmt: skip
            elif value is not None:
                backend[key] = value
            if value is not None:
                break
    # Router.deployment_callback_on_failure: model_info.cooldown_time, then litellm_params'.
    for scope, data in ((("model_info",), d.info), (("litellm_params",), d.params)):
        where = (*d.where, *scope)
        cooldown = c.number(data, "cooldown_time", where, ("backends", d.id))
        if cooldown == 0:
            c.fail(("backends", d.id), (*where, "cooldown_time"), cooldown,
                   "LiteLLM cools this deployment down for 0 s, so its breaker never keeps it "
                   "out; remove cooldown_time or set seconds > 0")  # fmt: skip
        elif cooldown is not None:
            backend["cooldown_s"] = cooldown
        if cooldown is not None:
            break
    return backend


def _other_sections(
    c: ConfigReader, router: dict[str, Any], settings: dict[str, Any], groups: list[str]
) -> None:
    c.not_checked(("router_settings",), [k for k in router if k not in _ROUTER_MAPPED])
    c.not_checked(("litellm_settings",), [k for k in settings if k not in _SETTINGS_MAPPED])
    group_settings = c.section(
        settings.get("model_group_settings"), ("litellm_settings", "model_group_settings")
    )
    forwarded = group_settings.get("forward_client_headers_to_llm_api") or []
    silent = [g for g in groups if g not in forwarded]
    if silent:
        c.note(
            f"model groups {', '.join(silent)} are not in litellm_settings.model_group_settings."
            "forward_client_headers_to_llm_api: LiteLLM does not pass x-request-id to their "
            "backends, so a backend's own logs cannot tie a request to them"
        )
    general = c.section(c.top.get("general_settings"), ("general_settings",))
    master_key = general.get("master_key")
    if isinstance(master_key, str) and master_key.startswith(ENV_PREFIX):
        var = master_key.removeprefix(ENV_PREFIX)
        c.note(
            f"general_settings.master_key is {master_key} (kept, not resolved): give the "
            f"harness a key the gateway accepts, e.g. export AISTACK_GATEWAY_KEY=${var} "
            f"(or gateway.key_env: {var})"
        )
    c.not_checked(("general_settings",), [k for k in general if k != "master_key"])
    known = {"model_list", "router_settings", "litellm_settings", "general_settings"}
    c.not_checked((), [k for k in c.top if k not in known])


# ---------------------------------------------------------------------------------------
# the YAML `aistack profile --from-litellm` writes


def render(result: Derivation, command: str) -> str:
    """The profile as YAML, errors and notes as comments above it."""
    out = [
        f"# Stack profile derived from {result.source} by `{command}`",
        f"# (LiteLLM {rules.LITELLM_VERSION} semantics; format: docs/profile.md).",
    ]
    for title, items in (
        (
            "NOT MAPPED (the profile below lacks what these would fill in):",
            [e.message for e in result.errors],
        ),
        ("Notes:", result.notes),
    ):
        if items:
            out.append(f"# {title}")
            for item in items:
                out += textwrap.wrap(item, 96, initial_indent="# - ", subsequent_indent="#   ")
    body = yaml.safe_dump(result.profile, sort_keys=False, default_flow_style=None, width=100)
    return "\n".join(out) + "\n" + body
