"""The stack profile (``aistack.yaml``): where the stack is and what it promises.

The resilience scenarios read the *policy* from here and assert that the stack honours
it, so the same scenarios run against the reference stack (``reference_stack/aistack.yaml``)
and against a user's own stack (``--aistack-profile my.yaml --aistack-backend external``).
The format is documented in docs/profile.md. The top-level ``settings:`` mapping belongs
to :mod:`pytest_aistack.config` and is skipped here.

Every error names the file, the line, the key, what was expected and what was found::

    my.yaml:14: policy.cooldown_s: expected a number of seconds > 0, got 'soon'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_aistack.errors import ConfigError
from pytest_aistack.setting_sources import PROFILE_FIX
from pytest_aistack.text_files import read_utf8

TOP_LEVEL_KEYS = ("settings", "gateway", "toxiproxy", "redis", "backends", "model_groups", "policy")


class ProfileError(ConfigError):
    """The profile is invalid; the message says where and how to fix it."""


@dataclass(frozen=True)
class BackendProfile:
    name: str
    model_group: str
    proxy: str | None = None  # Toxiproxy proxy in front of it (None: no fault injection)
    admin_url: str = ""  # mock LLM admin API ("" = filled in by the local backend / none)


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
    cache_ttl_s: float | None = None  # None: the gateway has no response cache
    redis_recovery_s: float = 0.0  # how long the gateway may shun Redis after it returns

    def worst_case_s(self, hops: int = 1) -> float:
        """Longest a request may take when every attempt times out, across ``hops`` groups."""
        return hops * (self.num_retries + 1) * max(self.timeout_s, self.stream_timeout_s)


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

    def fallback_chain(self, group: str | None = None) -> tuple[str, ...]:
        """The group and its fallbacks in the order the gateway tries them."""
        start = group or self.primary_group
        return (start, *self.model_groups[start].fallbacks)

    def backends_of(self, group: str) -> tuple[BackendProfile, ...]:
        return tuple(self.backends[name] for name in self.model_groups[group].deployments)


# ---------------------------------------------------------------------------------------
# YAML with line numbers


def _load_with_lines(text: str, path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse YAML and remember the (1-based) line of every mapping key and list item."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    lines: dict[tuple[str, ...], int] = {}

    def walk(n: yaml.Node, where: tuple[str, ...]) -> None:
        lines.setdefault(where, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                key = (*where, str(key_node.value))
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*where, str(i)))

    if node is not None:
        walk(node, ())
    return data, lines


class _Reader:
    """Typed access to the parsed profile with errors that carry file and line."""

    def __init__(self, path: Path, lines: dict[tuple[str, ...], int]) -> None:
        self.path = path
        self.lines = lines

    def error(self, where: tuple[str, ...], message: str) -> ProfileError:
        probe = where
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        key = ".".join(where) or "(top level)"
        return ProfileError(f"{self.path}:{line}: {key}: {message}")

    def mapping(
        self, value: object, where: tuple[str, ...], allowed: tuple[str, ...] | None = None
    ) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {_show(value)}")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise self.error(
                        (*where, str(key)), f"unknown key; expected one of: {', '.join(allowed)}"
                    )
        return {str(k): v for k, v in value.items()}

    def string(
        self, data: Mapping[str, Any], key: str, where: tuple[str, ...], default: str
    ) -> str:
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error((*where, key), f"expected a string, got {_show(value)}")
        return value

    def names(self, data: Mapping[str, Any], key: str, where: tuple[str, ...]) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error((*where, key), f"expected a list of names, got {_show(value)}")
        return tuple(value)

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        where: tuple[str, ...],
        *,
        integer: bool = False,
        minimum: float = 0.0,
        required: bool = True,
    ) -> Any:
        if key not in data or data[key] is None:
            if required:
                raise self.error((*where, key), "is required; " + _expect(integer, minimum))
            return None
        value = data[key]
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or not math.isfinite(value) or value < minimum:
            raise self.error((*where, key), f"{_expect(integer, minimum)}, got {_show(value)}")
        return value


def _expect(integer: bool, minimum: float) -> str:
    kind = "a whole number" if integer else "a number of seconds"
    return f"expected {kind} >= {minimum:g}"


def _show(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


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
    data, lines = _load_with_lines(text, path)
    return parse_profile(data, path, lines)


def parse_profile(
    data: object, path: Path, lines: dict[tuple[str, ...], int] | None = None
) -> Profile:
    r = _Reader(path, lines or {})
    top = r.mapping(data, (), TOP_LEVEL_KEYS)

    gateway = r.mapping(top.get("gateway"), ("gateway",), ("url", "key_env", "model_group"))
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
        b = r.mapping(body, where, ("model_group", "proxy", "admin_url"))
        group = r.string(b, "model_group", where, "")
        if group not in groups:
            raise r.error(
                (*where, "model_group"),
                f"expected one of the model_groups ({', '.join(groups)}), got {group!r}",
            )
        proxy = r.string(b, "proxy", where, "") or None
        backends[name] = BackendProfile(name, group, proxy, r.string(b, "admin_url", where, ""))

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
        gateway_key_env=r.string(gateway, "key_env", ("gateway",), "AISTACK_GATEWAY_KEY"),
        primary_group=primary,
        toxiproxy_url=r.string(toxiproxy, "url", ("toxiproxy",), ""),
        redis_proxy=r.string(redis, "proxy", ("redis",), "") or None,
        redis_url=r.string(redis, "url", ("redis",), ""),
        backends=backends,
        model_groups=groups,
        policy=_parse_policy(r, top.get("policy"), groups),
        raw_settings=r.mapping(top.get("settings"), ("settings",)),
    )


_POLICY_KEYS = (
    "allowed_fails",
    "cooldown_s",
    "num_retries",
    "timeout_s",
    "stream_timeout_s",
    "rate_limit",
    "cache_ttl_s",
    "redis_recovery_s",
)


def _parse_policy(r: _Reader, raw: object, groups: Mapping[str, ModelGroup]) -> Policy:
    where = ("policy",)
    if raw is None:
        raise r.error(where, "a policy: mapping is required (see docs/profile.md)")
    p = r.mapping(raw, where, _POLICY_KEYS)
    rate = r.mapping(p.get("rate_limit"), (*where, "rate_limit"), ("model_group", "rpm"))
    group = r.string(rate, "model_group", (*where, "rate_limit"), "") or None
    if group is not None and group not in groups:
        raise r.error(
            (*where, "rate_limit", "model_group"),
            f"expected one of the model_groups ({', '.join(groups)}), got {group!r}",
        )
    rpm = r.number(
        rate, "rpm", (*where, "rate_limit"), integer=True, minimum=1, required=bool(group)
    )
    return Policy(
        allowed_fails=r.number(p, "allowed_fails", where, integer=True),
        cooldown_s=float(r.number(p, "cooldown_s", where, minimum=0.001)),
        num_retries=r.number(p, "num_retries", where, integer=True),
        timeout_s=float(r.number(p, "timeout_s", where, minimum=0.001)),
        stream_timeout_s=float(r.number(p, "stream_timeout_s", where, minimum=0.001)),
        rate_limited_group=group,
        rpm=rpm,
        cache_ttl_s=r.number(p, "cache_ttl_s", where, minimum=0.001, required=False),
        redis_recovery_s=float(r.number(p, "redis_recovery_s", where, required=False) or 0.0),
    )
