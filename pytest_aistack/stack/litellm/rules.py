"""How LiteLLM 1.106.2 (the pinned gateway) resolves what a config leaves to it.

Facts, not code, carried over from LiteLLM's source; each names where it comes from so
a version bump can re-check it. :mod:`pytest_aistack.stack.litellm.profile` uses them to
state in the profile what the gateway will actually do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LITELLM_VERSION = "1.106.2"

# The stack file's placeholders (pytest_aistack/stack/placeholders.py): ${proxy_url:S},
# ${proxy_host:S} and ${proxy_port:S} are the Toxiproxy proxy in front of service S,
# ${url:S} is S itself.
PROXY_PLACEHOLDER = re.compile(r"\$\{proxy_(?:url|host|port):([^{}$]+)\}")
DIRECT_PLACEHOLDER = re.compile(r"\$\{url:([^{}$]+)\}")
# A value LiteLLM reads from its environment at start-up (get_secret); kept, never resolved.
ENV_PREFIX = "os.environ/"

# Router.__init__ defaults when neither router_settings nor litellm_settings set a value:
# allowed_fails = litellm.allowed_fails (3, litellm/__init__.py); cooldown_time =
# DEFAULT_COOLDOWN_TIME_SECONDS (5, litellm/constants.py; `cooldown_time or ...`, so 0
# also means 5); num_retries = openai.DEFAULT_MAX_RETRIES (2).
DEFAULT_ALLOWED_FAILS = 3
DEFAULT_COOLDOWN_S = 5
DEFAULT_NUM_RETRIES = 2
# litellm.request_timeout: env REQUEST_TIMEOUT, else DEFAULT_REQUEST_TIMEOUT_SECONDS.
DEFAULT_REQUEST_TIMEOUT_S = 6000
# Router.__init__: max_fallbacks, else litellm.max_fallbacks, else ROUTER_MAX_FALLBACKS.
DEFAULT_MAX_FALLBACKS = 5
# litellm/caching/redis_cache.py: Redis is skipped this long after 5 failures in a row
# (env REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT of the proxy, litellm/constants.py).
DEFAULT_REDIS_RECOVERY_S = 60

ROUTING_STRATEGIES = (
    "simple-shuffle",
    "least-busy",
    "usage-based-routing",
    "latency-based-routing",
    "cost-based-routing",
    "usage-based-routing-v2",
    "lar1",
)  # RoutingStrategyName, litellm/types/litellm_params.py
# rpm is refused with a 429 only by LowestTPMLoggingHandler_v2.pre_call_check
# (usage-based-routing-v2) and by ModelRateLimitingCheck, which
# router_settings.optional_pre_call_checks: [enforce_model_rate_limits] turns on for
# every strategy. usage-based-routing (v1) only routes by them (and skips a deployment
# at rpm - 1); simple-shuffle uses rpm/tpm as weights.
RATE_LIMITING_STRATEGY = "usage-based-routing-v2"
RATE_LIMIT_PRE_CALL_CHECK = "enforce_model_rate_limits"
# Both count rpm per calendar minute (key "...:rpm:%H-%M", ttl 60) and refuse with
# headers {"retry-after": "60"}, which the proxy passes on prefixed "llm_provider-" (the
# prefix it gives every header of the error's response).
RPM_WINDOW_S = 60
RPM_RETRY_AFTER_HEADER = "llm_provider-retry-after"
# A refusal that is not retried is answered at once; 1 s covers the gateway's own work.
REFUSAL_MAX_HOLD_S = 1


@dataclass(frozen=True)
class TimeoutLayers:
    """The timeouts a config sets above the deployments (None: not set)."""

    router_timeout: float | None  # router_settings.timeout
    router_stream_timeout: float | None  # router_settings.stream_timeout
    request_timeout: float | None  # litellm_settings.request_timeout

    @property
    def router_default(self) -> float:
        # Router.__init__: self.timeout = timeout or litellm.request_timeout
        return self.router_timeout or self.request_timeout or DEFAULT_REQUEST_TIMEOUT_S

    @property
    def per_attempt(self) -> float | None:
        # Router.__init__: self.request_timeout = get_configured_request_timeout() only
        # when a router timeout is set too (otherwise it already is self.timeout).
        return self.request_timeout if self.router_timeout is not None else None

    def non_stream(self, timeout: float | None, request_timeout: float | None) -> float:
        """Router._get_non_stream_timeout, for a deployment's litellm_params.

        deployment timeout > deployment request_timeout > litellm_settings.request_timeout
        > router_settings.timeout > litellm's default. A request_timeout in litellm_settings
        therefore beats router_settings.timeout.
        """
        return timeout or request_timeout or self.per_attempt or self.router_default

    def stream(
        self, stream_timeout: float | None, timeout: float | None, request_timeout: float | None
    ) -> float:
        """Router._get_stream_timeout, then the non-stream chain when it finds nothing.

        deployment stream_timeout > router_settings.stream_timeout >
        litellm_settings.request_timeout (with a router timeout) > the non-stream timeout.
        """
        found = stream_timeout or self.router_stream_timeout or self.per_attempt
        return found or self.non_stream(timeout, request_timeout)

    def uses_default(self, timeout: float | None, request_timeout: float | None) -> bool:
        return not (timeout or request_timeout or self.router_timeout or self.request_timeout)
