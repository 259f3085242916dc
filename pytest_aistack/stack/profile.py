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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_aistack.errors import ConfigError
from pytest_aistack.runtime.text_files import read_utf8
from pytest_aistack.settings.sources import PROFILE_FIX
from pytest_aistack.stack.yaml_lines import Reader, load_with_lines

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
# Names as in LiteLLM's RetryPolicy and AllowedFailsPolicy (litellm/types/router.py, 1.106.2).
_ERRORS = ("BadRequest", "Authentication", "Timeout", "RateLimit", "ContentPolicyViolation")
_ERRORS_5XX = ("InternalServer", "ServiceUnavailable")
RETRY_POLICY_KEYS = (
    *(f"{e}ErrorRetries" for e in (*_ERRORS, *_ERRORS_5XX, "NotFound")),
    "DefaultRetries",
)
ALLOWED_FAILS_POLICY_KEYS = tuple(
    f"{e}ErrorAllowedFails" for e in (*_ERRORS, *_ERRORS_5XX, "BadGateway", "NotFound")
)
CACHE_MODES = ("default_on", "default_off")


class ProfileError(ConfigError):
    """The profile is invalid; the message says where and how to fix it."""


@dataclass(frozen=True)
class BackendProfile:
    name: str
    model_group: str
    proxy: str | None = None  # Toxiproxy proxy in front of it (None: no fault injection)
    admin_url: str = ""  # mock LLM admin API ("" = filled in by the local backend / none)
    rpm: int | None = None  # requests per minute the gateway admits to it (None: no limit)
    tpm: int | None = None  # tokens per minute
    # Where this deployment's own setting differs from the policy's (None: the policy's).
    timeout_s: float | None = None
    stream_timeout_s: float | None = None
    cooldown_s: float | None = None


@dataclass(frozen=True)
class ModelGroup:
    name: str
    deployments: tuple[str, ...]
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """What the gateway configuration promises; every scenario bound derives from these."""

    allowed_fails: int  # failures tolerated per deployment before it cools down
    cooldown_s: float  # how long a tripped deployment gets no traffic
    num_retries: int  # retries of a failed attempt (other deployments or the same group)
    timeout_s: float  # per-attempt timeout, non-streaming
    stream_timeout_s: float  # per-attempt timeout for streams (time to first byte)
    rate_limited_group: str | None = None
    rpm: int | None = None
    rate_window_s: float = 60.0  # the window rpm counts in (LiteLLM: the calendar minute)
    # Over the limit: answered (429, or served once the window has room) within this.
    rate_max_hold_s: float = 1.0
    retry_after_header: str = "retry-after"  # the 429's header saying when to retry
    cache_ttl_s: float | None = None  # None: the gateway has no response cache
    redis_recovery_s: float = 0.0  # how long the gateway may shun Redis after it returns
    # How long router state (a cooldown) recorded through one gateway instance may take
    # to reach the others (LiteLLM: DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS, 1 s).
    state_sync_s: float = 1.0
    cache_namespace: str | None = None  # prefix of the cache keys in Redis ("NS:<hash>")
    cache_mode: str | None = None  # default_on / default_off (opt in per request); None: not stated
    # Per error type, as LiteLLM's RetryPolicy / AllowedFailsPolicy (e.g. TimeoutErrorRetries).
    retry_policy: Mapping[str, int] = field(default_factory=dict)
    allowed_fails_policy: Mapping[str, int] = field(default_factory=dict)

    def retries_for(self, error: str) -> int:
        """Retries of an attempt that failed with ``error`` (``"TimeoutError"``, ...).

        Matches litellm router_utils/get_retry_from_policy.py: the error's own entry, else
        ``DefaultRetries``, else ``num_retries``.
        """
        policy = self.retry_policy
        return policy.get(f"{error}Retries", policy.get("DefaultRetries", self.num_retries))

    def worst_case_s(self, hops: int = 1) -> float:
        """Longest a request may take when every attempt times out, across ``hops`` groups."""
        attempts = self.retries_for("TimeoutError") + 1
        return hops * attempts * max(self.timeout_s, self.stream_timeout_s)


@dataclass(frozen=True)
class Profile:
    path: Path
    gateway_url: str
    gateway_key_env: str
    primary_group: str
    toxiproxy_url: str
    redis_proxy: str | None
    redis_url: str  # direct address, for ground-truth checks only ("" = not reachable)
    backends: Mapping[str, BackendProfile]
    model_groups: Mapping[str, ModelGroup]
    policy: Policy
    raw_settings: Mapping[str, Any] = field(default_factory=dict)
    litellm_config: Path | None = None  # the LiteLLM config that filled in what is not stated
    notes: tuple[str, ...] = ()  # what the LiteLLM config says that no scenario checks
    # More instances of the same gateway (same key, shared state); "" entries: filled in.
    gateway_replica_urls: tuple[str, ...] = ()

    def fallback_chain(self, group: str | None = None) -> tuple[str, ...]:
        """The group and its fallbacks in the order the gateway tries them."""
        start = group or self.primary_group
        return (start, *self.model_groups[start].fallbacks)

    def backends_of(self, group: str) -> tuple[BackendProfile, ...]:
        return tuple(self.backends[name] for name in self.model_groups[group].deployments)

    def timeout_of(self, backend: str, *, stream: bool = False) -> float:
        """The per-attempt timeout the gateway applies to ``backend``."""
        b = self.backends[backend]
        if stream:
            return b.stream_timeout_s or self.policy.stream_timeout_s
        return b.timeout_s or self.policy.timeout_s

    def cooldown_of(self, backend: str) -> float:
        return self.backends[backend].cooldown_s or self.policy.cooldown_s

    def rpm_of(self, group: str) -> int | None:
        """Requests per minute the group admits: the sum over its deployments (None: unlimited)."""
        limits = [b.rpm for b in self.backends_of(group)]
        return None if None in limits else sum(x for x in limits if x is not None)


# ---------------------------------------------------------------------------------------
# the profile


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
        from pytest_aistack.stack.profile_litellm import fill_from_litellm

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
