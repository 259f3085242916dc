"""The stack profile's data model: what ``aistack.yaml`` says, once parsed.

:mod:`pytest_aistack.stack.profile` reads a file into these; the scenarios, the
backends and the LiteLLM derivation use them without importing the reader (which is
what keeps :mod:`~pytest_aistack.stack.litellm.profile` out of an import circle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_aistack.errors import ConfigError

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
