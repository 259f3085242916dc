"""The reference profile's policy must state what the LiteLLM config actually configures."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from pytest_aistack.stack.factory import REFERENCE_PROFILE, REFERENCE_SPEC
from pytest_aistack.stack.profile import Profile, load_profile
from pytest_aistack.stack.spec import load_stack_spec


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(REFERENCE_PROFILE)


@pytest.fixture(scope="module")
def gateway() -> dict[str, Any]:
    template = load_stack_spec(REFERENCE_SPEC).services["gateway"].config_template
    assert template is not None
    # Placeholders are ${...} strings, which YAML reads as plain scalars.
    config: dict[str, Any] = yaml.safe_load(template.read_text())
    return config


def test_breaker_retries_and_timeouts_match(profile: Profile, gateway: dict[str, Any]) -> None:
    router = gateway["router_settings"]
    policy = profile.policy
    assert router["allowed_fails"] == policy.allowed_fails
    assert router["cooldown_time"] == policy.cooldown_s
    assert router["num_retries"] == policy.num_retries
    assert router["timeout"] == policy.timeout_s
    assert router["stream_timeout"] == policy.stream_timeout_s
    for model in gateway["model_list"]:
        assert model["litellm_params"].get("timeout", policy.timeout_s) == policy.timeout_s


def test_fallback_chain_matches(profile: Profile, gateway: dict[str, Any]) -> None:
    fallbacks = {
        k: v for entry in gateway["router_settings"]["fallbacks"] for k, v in entry.items()
    }
    for name, group in profile.model_groups.items():
        assert tuple(fallbacks.get(name, ())) == group.fallbacks, name


def test_deployments_match(profile: Profile, gateway: dict[str, Any]) -> None:
    ids_by_group: dict[str, set[str]] = {}
    for model in gateway["model_list"]:
        ids_by_group.setdefault(model["model_name"], set()).add(model["model_info"]["id"])
    for name in ("chat", "chat-fallback", "cloud"):
        assert ids_by_group[name] == set(profile.model_groups[name].deployments)


def test_rate_limit_matches(profile: Profile, gateway: dict[str, Any]) -> None:
    policy = profile.policy
    limited = [m for m in gateway["model_list"] if m["model_name"] == policy.rate_limited_group]
    assert [m["litellm_params"]["rpm"] for m in limited] == [policy.rpm]
    # LiteLLM enforces rpm only with this routing strategy (docs/scenarios.md).
    assert gateway["router_settings"]["routing_strategy"] == "usage-based-routing-v2"


def test_redis_breaker_window_matches(profile: Profile) -> None:
    env = load_stack_spec(REFERENCE_SPEC).services["gateway"].env
    assert float(env["REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT"]) == profile.policy.redis_recovery_s
