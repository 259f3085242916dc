"""The stack profile (``aistack.yaml``): where the stack is and what it promises.

The resilience scenarios read the *policy* from here and assert that the stack honours
it, so the same scenarios run against the reference stack
(``pytest_aistack/reference_stack/aistack.yaml``)
and against a user's own stack (``--aistack-profile my.yaml --aistack-backend external``).
The format is documented in docs/profile.md. The top-level ``settings:`` mapping belongs
to :mod:`pytest_aistack.settings` and is skipped here.

Every error names the file, the line, the key, what was expected and what was found::

    my.yaml:14: policy.cooldown_s: expected a number of seconds > 0, got 'soon'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_aistack.runtime.text_files import read_utf8
from pytest_aistack.settings.sources import PROFILE_FIX
from pytest_aistack.stack.profile_model import (
    ALLOWED_FAILS_POLICY_KEYS,
    CACHE_MODES,
    RETRY_POLICY_KEYS,
    BackendProfile,
    ModelGroup,
    Policy,
    Profile,
    ProfileError,
)
from pytest_aistack.stack.yaml_lines import Reader, load_with_lines

if TYPE_CHECKING:
    from pytest_aistack.stack.litellm.reader import Where

# The model is re-exported: ``from pytest_aistack.stack.profile import Profile`` is the
# import users and the backends know.
__all__ = [
    "BackendProfile",
    "ModelGroup",
    "Policy",
    "Profile",
    "ProfileError",
    "load_profile",
    "parse_profile",
]

TOP_LEVEL_KEYS = (
    "settings",
    "litellm_config",
    "gateway",
    "toxiproxy",
    "redis",
    "backends",
    "model_groups",
    "policy",
    # Read by pytest_aistack.conformance.profile: one file may describe both.
    "conformance",
)


def load_profile(path: Path) -> Profile:
    try:
        text = read_utf8(path, what="a profile", fix=PROFILE_FIX, error=ProfileError)
    except OSError as exc:
        raise ProfileError(
            f"{path}: cannot read the profile ({exc.strerror}); "
            "point --aistack-profile at an aistack.yaml"
        ) from None
    data, lines = load_with_lines(text, path, ProfileError)
    return parse_profile(data, path, lines)


def parse_profile(
    data: object, path: Path, lines: dict[tuple[str, ...], int] | None = None
) -> Profile:
    r = Reader(path, lines or {}, ProfileError)
    top = r.mapping(data, (), TOP_LEVEL_KEYS)
    litellm_config: Path | None = None
    notes: tuple[str, ...] = ()
    if top.get("litellm_config") is not None:
        # What the profile does not state comes from the gateway's own config.
        litellm_config = path.parent / r.string(top, "litellm_config", (), "")
        top, notes = fill_from_litellm(top, litellm_config, r)

    gateway = r.mapping(
        top.get("gateway"), ("gateway",), ("url", "key_env", "model_group", "replicas")
    )
    toxiproxy = r.mapping(top.get("toxiproxy"), ("toxiproxy",), ("url",))
    redis = r.mapping(top.get("redis"), ("redis",), ("proxy", "url"))

    groups: dict[str, ModelGroup] = {}
    raw_groups = r.mapping(top.get("model_groups"), ("model_groups",))
    if not raw_groups:
        raise r.error(("model_groups",), "at least one model group is required")
    for name, body in raw_groups.items():
        where = ("model_groups", name)
        g = r.mapping(body, where, ("deployments", "fallbacks"))
        deployments = r.names(g, "deployments", where)
        if not deployments:
            raise r.error((*where, "deployments"), "expected at least one backend name")
        groups[name] = ModelGroup(name, deployments, r.names(g, "fallbacks", where))

    backends: dict[str, BackendProfile] = {}
    for name, body in r.mapping(top.get("backends"), ("backends",)).items():
        where = ("backends", name)
        b = r.mapping(body, where, ("model_group", "proxy", "admin_url", *_BACKEND_NUMBERS))
        group = r.string(b, "model_group", where, "")
        if group not in groups:
            raise r.error(
                (*where, "model_group"),
                f"expected one of the model_groups ({', '.join(groups)}), got {group!r}",
            )
        proxy = r.string(b, "proxy", where, "") or None
        numbers = {
            key: r.number(b, key, where, integer=integer, minimum=minimum, required=False)
            for key, (integer, minimum) in _BACKEND_NUMBERS.items()
        }
        admin_url = r.string(b, "admin_url", where, "")
        backends[name] = BackendProfile(name, group, proxy, admin_url, **numbers)

    for model_group in groups.values():
        where = ("model_groups", model_group.name)
        for i, dep in enumerate(model_group.deployments):
            if dep not in backends:
                raise r.error(
                    (*where, "deployments", str(i)),
                    f"{dep!r} is not listed under backends ({', '.join(backends) or 'none'})",
                )
        for i, fb in enumerate(model_group.fallbacks):
            if fb not in groups or fb == model_group.name:
                raise r.error(
                    (*where, "fallbacks", str(i)),
                    f"expected another model group ({', '.join(groups)}), got {fb!r}",
                )

    primary = r.string(gateway, "model_group", ("gateway",), next(iter(groups)))
    if primary not in groups:
        raise r.error(
            ("gateway", "model_group"), f"expected one of {', '.join(groups)}, got {primary!r}"
        )

    return Profile(
        path=path,
        gateway_url=r.string(gateway, "url", ("gateway",), ""),
        gateway_replica_urls=r.names(gateway, "replicas", ("gateway",)),
        gateway_key_env=r.string(gateway, "key_env", ("gateway",), "AISTACK_GATEWAY_KEY"),
        primary_group=primary,
        toxiproxy_url=r.string(toxiproxy, "url", ("toxiproxy",), ""),
        redis_proxy=r.string(redis, "proxy", ("redis",), "") or None,
        redis_url=r.string(redis, "url", ("redis",), ""),
        backends=backends,
        model_groups=groups,
        policy=_parse_policy(r, top.get("policy"), groups),
        raw_settings=r.mapping(top.get("settings"), ("settings",)),
        litellm_config=litellm_config,
        notes=notes,
    )


# backend key -> (whole number, minimum)
_BACKEND_NUMBERS = {
    "rpm": (True, 1),
    "tpm": (True, 1),
    "timeout_s": (False, 0.001),
    "stream_timeout_s": (False, 0.001),
    "cooldown_s": (False, 0.001),
}


_POLICY_KEYS = (
    "allowed_fails",
    "cooldown_s",
    "num_retries",
    "timeout_s",
    "stream_timeout_s",
    "rate_limit",
    "cache_ttl_s",
    "redis_recovery_s",
    "state_sync_s",
    "cache_namespace",
    "cache_mode",
    "retry_policy",
    "allowed_fails_policy",
)


_RATE_LIMIT_KEYS = ("model_group", "rpm", "window_s", "max_hold_s", "retry_after_header")


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _parse_policy(r: Reader, raw: object, groups: Mapping[str, ModelGroup]) -> Policy:
    where = ("policy",)
    if raw is None:
        raise r.error(where, "a policy: mapping is required (see docs/profile.md)")
    p = r.mapping(raw, where, _POLICY_KEYS)
    rate = r.mapping(p.get("rate_limit"), (*where, "rate_limit"), _RATE_LIMIT_KEYS)
    group = r.string(rate, "model_group", (*where, "rate_limit"), "") or None
    if group is not None and group not in groups:
        raise r.error(
            (*where, "rate_limit", "model_group"),
            f"expected one of the model_groups ({', '.join(groups)}), got {group!r}",
        )
    rpm = r.number(
        rate, "rpm", (*where, "rate_limit"), integer=True, minimum=1, required=bool(group)
    )
    cache_mode = r.string(p, "cache_mode", where, "") or None
    if cache_mode is not None and cache_mode not in CACHE_MODES:
        raise r.error((*where, "cache_mode"), f"expected one of {CACHE_MODES}, got {cache_mode!r}")
    return Policy(
        allowed_fails=r.number(p, "allowed_fails", where, integer=True),
        cooldown_s=float(r.number(p, "cooldown_s", where, minimum=0.001)),
        num_retries=r.number(p, "num_retries", where, integer=True),
        timeout_s=float(r.number(p, "timeout_s", where, minimum=0.001)),
        stream_timeout_s=float(r.number(p, "stream_timeout_s", where, minimum=0.001)),
        rate_limited_group=group,
        rpm=rpm,
        rate_window_s=float(
            _or(
                r.number(rate, "window_s", (*where, "rate_limit"), minimum=0.001, required=False),
                60.0,
            )
        ),
        rate_max_hold_s=float(
            _or(r.number(rate, "max_hold_s", (*where, "rate_limit"), required=False), 1.0)
        ),
        retry_after_header=r.string(rate, "retry_after_header", (*where, "rate_limit"), "")
        or "retry-after",
        cache_ttl_s=r.number(p, "cache_ttl_s", where, minimum=0.001, required=False),
        redis_recovery_s=float(r.number(p, "redis_recovery_s", where, required=False) or 0.0),
        state_sync_s=float(_or(r.number(p, "state_sync_s", where, required=False), 1.0)),
        cache_namespace=r.string(p, "cache_namespace", where, "") or None,
        cache_mode=cache_mode,
        retry_policy=_counts(r, p, "retry_policy", RETRY_POLICY_KEYS),
        allowed_fails_policy=_counts(r, p, "allowed_fails_policy", ALLOWED_FAILS_POLICY_KEYS),
    )


def _counts(r: Reader, p: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, int]:
    where = ("policy", key)
    raw = r.mapping(p.get(key), where, allowed)
    return {name: r.number(raw, name, where, integer=True) for name in raw}


# ---------------------------------------------------------------------------------------
# the profile's litellm_config: key


def fill_from_litellm(
    explicit: dict[str, Any], config: Path, r: Reader
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The profile ``explicit`` with what it does not state taken from ``config``.

    Explicit keys win, mapping by mapping down to single values (a list is one value).
    An error of the derivation stops the profile unless the key it would have filled is
    stated explicitly.
    """
    if not config.is_file():
        raise r.error(
            ("litellm_config",),
            f"{config}: no such file (the path is relative to the profile's folder)",
        )
    # Imported here: only a profile with litellm_config: pays for the derivation.
    from pytest_aistack.stack.litellm.profile import derive_profile

    result = derive_profile(config)
    gateway = explicit.get("gateway")
    primary = gateway.get("model_group") if isinstance(gateway, dict) else None
    if primary != result.profile["gateway"]["model_group"] and primary in result.profile.get(
        "model_groups", {}
    ):
        # The policy's timeouts follow the primary group's chain (an unknown group is
        # reported by the profile's own check of gateway.model_group).
        result = derive_profile(config, model_group=primary)
    errors = [p.message for p in result.errors if not _stated(explicit, p.target)]
    if errors:
        listed = "".join(f"\n- {message}" for message in errors)
        raise r.error(
            ("litellm_config",),
            f"{len(errors)} setting(s) of {config} cannot be mapped:{listed}\n"
            "Fix them in the LiteLLM config, or state those keys in the profile "
            "(explicit keys win; docs/profile.md)",
        )
    return _merge(result.profile, explicit), tuple(result.notes)


def _stated(explicit: Mapping[str, Any], target: Where) -> bool:
    node: Any = explicit
    for key in target:
        if not isinstance(node, Mapping) or node.get(key) is None:
            return False
        node = node[key]
    return bool(target)


def _merge(derived: Mapping[str, Any], explicit: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(derived)
    for key, value in explicit.items():
        below = derived.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = _merge(below, value)
        elif value is not None or key not in derived:
            merged[key] = value
    return merged
