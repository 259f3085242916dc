"""The policy a LiteLLM config implies: breaker, retries, timeouts, rate limits, cache, Redis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_aistack.stack.litellm import rules
from pytest_aistack.stack.litellm.reader import ConfigReader, Deployment, Where
from pytest_aistack.stack.litellm.rules import ENV_PREFIX, PROXY_PLACEHOLDER
from pytest_aistack.stack.profile_model import ALLOWED_FAILS_POLICY_KEYS, RETRY_POLICY_KEYS

_CACHE_MAPPED = frozenset(
    {"type", "host", "port", "url", "password", "ttl", "default_in_redis_ttl", "namespace", "mode"}
)


def derive_policy(
    c: ConfigReader,
    router: dict[str, Any],
    settings: dict[str, Any],
    deployments: list[Deployment],
    backends: dict[str, dict[str, Any]],
    in_chain: list[str],
    primary: str,
) -> dict[str, Any]:
    r, s = ("router_settings",), ("litellm_settings",)
    policy: dict[str, Any] = {}
    for key, profile_key, default, whole in (
        ("allowed_fails", "allowed_fails", rules.DEFAULT_ALLOWED_FAILS, True),
        ("num_retries", "num_retries", rules.DEFAULT_NUM_RETRIES, True),
    ):
        value = c.number(router, key, r, ("policy", profile_key), whole=whole)
        if value is None:
            value = c.number(settings, key, s, ("policy", profile_key), whole=whole)
        if value is None:
            value = default
            c.note(f"policy.{profile_key}: {default}, LiteLLM's default (the config sets no {key})")
        policy[profile_key] = value
    cooldown = c.number(router, "cooldown_time", r, ("policy", "cooldown_s"))
    if not cooldown:  # Router.__init__: cooldown_time or DEFAULT_COOLDOWN_TIME_SECONDS
        cooldown = rules.DEFAULT_COOLDOWN_S
        c.note(
            f"policy.cooldown_s: {cooldown}, LiteLLM's default "
            "(router_settings.cooldown_time unset or 0)"
        )
    policy["cooldown_s"] = cooldown
    if router.get("disable_cooldowns") is True:
        c.fail(
            ("policy", "cooldown_s"),
            (*r, "disable_cooldowns"),
            True,
            "LiteLLM never cools a failing deployment down, and the breaker scenarios test that "
            "it does; remove disable_cooldowns (no profile can promise a breaker that is off)",
        )
    _timeouts(c, router, settings, deployments, backends, policy, in_chain)
    allowed_fails_policy = _counts(
        c, router, (*r, "allowed_fails_policy"), ALLOWED_FAILS_POLICY_KEYS
    )
    if allowed_fails_policy:
        policy["allowed_fails_policy"] = allowed_fails_policy
    # resolve_retry_policy (router_utils/get_retry_from_policy.py): a group's entry in
    # model_group_retry_policy replaces retry_policy for that group, it is not merged.
    retry_policies = {"": _counts(c, router, (*r, "retry_policy"), RETRY_POLICY_KEYS)}
    groups = {d.group for d in deployments}
    by_group = c.section(router.get("model_group_retry_policy"), (*r, "model_group_retry_policy"))
    for group in by_group:
        where = (*r, "model_group_retry_policy", group)
        if group not in groups:
            c.fail(
                ("policy", "retry_policy"), where, group, f"no model group {group!r} in model_list"
            )
        retry_policies[group] = _counts(c, by_group, where, RETRY_POLICY_KEYS)
    chosen = retry_policies.get(primary, retry_policies[""])
    if chosen:
        policy["retry_policy"] = chosen
    limited_group = _rate_limit(c, router, deployments, backends, policy, retry_policies)
    others = [g for g in by_group if g not in (primary, limited_group)]
    c.not_checked((*r, "model_group_retry_policy"), others)
    _cache(c, settings, policy)
    return policy


def _counts(
    c: ConfigReader, parent: Mapping[str, Any], where: Where, allowed: tuple[str, ...]
) -> dict[str, int]:
    """A RetryPolicy / AllowedFailsPolicy mapping (LiteLLM refuses other names)."""
    raw = c.section(parent.get(where[-1]), where)
    target = (
        "policy",
        "allowed_fails_policy" if "allowed_fails_policy" in where else "retry_policy",
    )
    counts: dict[str, int] = {}
    for key in raw:
        if key not in allowed:
            c.fail(target, (*where, key), key, f"expected one of {', '.join(allowed)}")
        elif (value := c.number(raw, key, where, target, whole=True)) is not None:
            counts[key] = value
    return counts


def _timeouts(
    c: ConfigReader,
    router: dict[str, Any],
    settings: dict[str, Any],
    deployments: list[Deployment],
    backends: dict[str, dict[str, Any]],
    policy: dict[str, Any],
    in_chain: list[str],
) -> None:
    target = ("policy", "timeout_s")
    layers = rules.TimeoutLayers(
        router_timeout=c.number(router, "timeout", ("router_settings",), target),
        router_stream_timeout=c.number(router, "stream_timeout", ("router_settings",), target),
        request_timeout=c.number(settings, "request_timeout", ("litellm_settings",), target),
    )
    effective: dict[str, tuple[float, float]] = {}
    defaulted = []
    for d in deployments:
        where = (*d.where, "litellm_params")
        own = [
            c.number(d.params, k, where, ("backends", d.id))
            for k in ("timeout", "request_timeout", "stream_timeout")
        ]
        timeout, request_timeout, stream_timeout = own
        effective[d.id] = (
            layers.non_stream(timeout, request_timeout),
            layers.stream(stream_timeout, timeout, request_timeout),
        )
        if layers.uses_default(timeout, request_timeout):
            defaulted.append(d.id)
    if not effective:
        return
    if defaulted:
        c.note(
            f"timeouts of {', '.join(defaulted)}: {rules.DEFAULT_REQUEST_TIMEOUT_S:g} s, LiteLLM's "
            "default (no timeout in litellm_params, router_settings or "
            "litellm_settings.request_timeout; the proxy's env REQUEST_TIMEOUT changes it)"
        )
    # The policy states the longest of the primary group's chain (what the scenarios
    # exercise), so bounds derived from it hold there; every deployment whose own timeout
    # differs carries it (Profile.timeout_of).
    for index, key in ((0, "timeout_s"), (1, "stream_timeout_s")):
        longest = max(effective[i][index] for i in in_chain or effective)
        policy[key] = longest
        for dep_id, pair in effective.items():
            if pair[index] != longest:
                backends[dep_id][key] = pair[index]


def _rate_limit(
    c: ConfigReader,
    router: dict[str, Any],
    deployments: list[Deployment],
    backends: dict[str, dict[str, Any]],
    policy: dict[str, Any],
    retry_policies: Mapping[str, Mapping[str, int]],
) -> str | None:
    """policy.rate_limit: the group the rate-limit scenario uses (its name)."""
    limited = [d for d in deployments if {"rpm", "tpm"} & set(backends[d.id])]
    if not limited:
        return None
    strategy = router.get("routing_strategy", "simple-shuffle")
    checks = router.get("optional_pre_call_checks") or []
    where = ("router_settings", "routing_strategy")
    if strategy not in rules.ROUTING_STRATEGIES:
        c.fail(
            ("policy", "rate_limit"),
            where,
            strategy,
            f"expected one of {', '.join(rules.ROUTING_STRATEGIES)}",
        )
    if strategy != rules.RATE_LIMITING_STRATEGY and rules.RATE_LIMIT_PRE_CALL_CHECK not in checks:
        for d in limited:
            backends[d.id].pop("rpm", None)
            backends[d.id].pop("tpm", None)
        c.fail(
            ("policy", "rate_limit"),
            where if "routing_strategy" in router else ("router_settings",),
            strategy,
            f"rpm/tpm are set on {', '.join(d.id for d in limited)}, but LiteLLM "
            f"{rules.LITELLM_VERSION} refuses requests over them only with routing_strategy: "
            f"{rules.RATE_LIMITING_STRATEGY} or optional_pre_call_checks: "
            f"[{rules.RATE_LIMIT_PRE_CALL_CHECK}] (with {strategy} they only steer routing); "
            "set one of those, or remove rpm/tpm (or state policy.rate_limit in the profile)",
        )
        return None
    # The group the rate-limit check uses: every deployment limited, the fewest requests.
    # A group admits the sum of its deployments' rpm (None: one of them is unlimited).
    totals: dict[str, int | None] = {}
    for d in deployments:
        rpm, before = backends[d.id].get("rpm"), totals.get(d.group, 0)
        totals[d.group] = None if rpm is None or before is None else before + rpm
    candidates = {g: n for g, n in totals.items() if n}
    if not candidates:
        return None
    group = min(candidates, key=lambda g: candidates[g])
    chosen = retry_policies.get(group, retry_policies[""])
    retries = chosen.get(
        "RateLimitErrorRetries", chosen.get("DefaultRetries", policy["num_retries"])
    )
    if retries:
        # The refusal says retry-after: 60, and the router's retry waits for it.
        c.fail(
            ("policy", "rate_limit"),
            ("router_settings", "model_group_retry_policy", group),
            retries,
            f"over its rpm, LiteLLM retries the refusal of {group!r} {retries} time(s) after "
            f"its retry-after ({rules.RPM_WINDOW_S} s), so a request is held, not refused; set "
            f"model_group_retry_policy: {{{group}: {{RateLimitErrorRetries: 0}}}} for a 429 "
            "at once, or state policy.rate_limit in the profile",
        )
        return group
    policy["rate_limit"] = {
        "model_group": group,
        "rpm": candidates[group],
        "window_s": rules.RPM_WINDOW_S,
        "max_hold_s": rules.REFUSAL_MAX_HOLD_S,
        "retry_after_header": rules.RPM_RETRY_AFTER_HEADER,
    }
    return group


def _cache(c: ConfigReader, settings: dict[str, Any], policy: dict[str, Any]) -> None:
    where = ("litellm_settings", "cache_params")
    params = c.section(settings.get("cache_params"), where)
    if settings.get("cache") is not True:
        if params:
            c.note("litellm_settings.cache_params: unused, litellm_settings.cache is not true")
        return
    cache_type = params.get("type", "redis")
    c.not_checked(where, sorted(set(params) - _CACHE_MAPPED))
    if cache_type != "redis":
        c.note(
            f"litellm_settings.cache_params.type: {cache_type!r}: the response cache is not in "
            "Redis; not checked by any scenario (policy.cache_ttl_s left unset)"
        )
        return
    ttl = c.number(params, "default_in_redis_ttl", where, ("policy", "cache_ttl_s"))
    if ttl is None:  # Cache.__init__: default_in_redis_ttl replaces ttl for Redis
        ttl = c.number(params, "ttl", where, ("policy", "cache_ttl_s"))
    if not ttl:
        c.fail(
            ("policy", "cache_ttl_s"),
            (*where, "ttl"),
            params.get("ttl"),
            "a Redis response cache without a ttl keeps entries forever, so no scenario can "
            "bound it; set cache_params.ttl (seconds) or state policy.cache_ttl_s",
        )
    else:
        policy["cache_ttl_s"] = ttl
    # CacheMode: default_on unless stated; with default_off a request opts in.
    policy["cache_mode"] = params.get("mode", "default_on")
    namespace = params.get("namespace")
    if isinstance(namespace, str) and namespace.startswith(ENV_PREFIX):
        c.fail(
            ("policy", "cache_namespace"),
            (*where, "namespace"),
            namespace,
            "read from the environment when the gateway starts; write the namespace in the "
            "config or state policy.cache_namespace",
        )
    elif namespace is not None:
        policy["cache_namespace"] = str(namespace)


def redis_proxy(
    c: ConfigReader, router: dict[str, Any], settings: dict[str, Any], proxy_map: Mapping[str, str]
) -> str | None:
    """The proxy between the gateway and Redis: one for the cache and the router state."""
    sources: list[tuple[Where, str]] = []
    cache = c.section(settings.get("cache_params"), ("litellm_settings", "cache_params"))
    if settings.get("cache") is True and cache.get("type", "redis") == "redis":
        where: Where = ("litellm_settings", "cache_params")
        sources += [((*where, k), str(cache[k])) for k in ("host", "port", "url") if k in cache]
        if not sources:
            sources.append((where, "env REDIS_HOST/REDIS_PORT"))
    for key in ("redis_host", "redis_port", "redis_url"):
        if key in router:
            sources.append((("router_settings", key), str(router[key])))
    if not sources:
        return None
    names: dict[str, Where] = {}
    assumed: list[str] = []
    for where, value in sources:
        placeholder = PROXY_PLACEHOLDER.search(value)
        if "redis" in proxy_map:
            name = proxy_map["redis"]
        elif placeholder is not None:
            name = placeholder.group(1)
        else:
            name = "redis"
            assumed.append(f"{'.'.join(where)} = {value}")
        names.setdefault(name, where)
    if assumed:
        c.note(
            f"redis.proxy: 'redis' (assumed for {', '.join(assumed)}; --proxy-map redis=NAME "
            "or redis.proxy in the profile to change it)"
        )
    if len(names) > 1:
        found = "; ".join(f"{'.'.join(w)} -> {n}" for n, w in names.items())
        c.fail(
            ("redis", "proxy"),
            next(iter(names.values())),
            found,
            "the cache and the router state go through different proxies, and the profile has "
            "one redis.proxy; point both at the same Redis proxy (or state redis.proxy)",
        )
    return next(iter(names))
