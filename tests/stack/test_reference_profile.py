"""The reference profile states what its LiteLLM config configures: the derivation checks it.

``aistack profile --from-litellm`` reads the gateway's config template and writes the
profile it implies; every promise in pytest_aistack/reference_stack/aistack.yaml must
equal it, field by field. What a LiteLLM config cannot hold (where the stack is, and the
proxy's env) is compared with its own source.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_aistack.cli import main
from pytest_aistack.stack.factory import REFERENCE_PROFILE, REFERENCE_SPEC
from pytest_aistack.stack.profile import Profile, load_profile
from pytest_aistack.stack.spec import load_stack_spec

# Not in a LiteLLM config: the proxy's env REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT.
FROM_THE_STACK_FILE = {"redis_recovery_s", "state_sync_s"}


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(REFERENCE_PROFILE)


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    template = load_stack_spec(REFERENCE_SPEC).services["gateway"].config_template
    assert template is not None
    out = tmp_path_factory.mktemp("derived") / "aistack.yaml"
    assert main(["profile", "--from-litellm", str(template), "-o", str(out)]) == 0
    return load_profile(out)


def test_model_groups_deployments_and_fallbacks_match(profile: Profile, derived: Profile) -> None:
    assert list(derived.model_groups) == list(profile.model_groups)
    for name, group in profile.model_groups.items():
        assert derived.model_groups[name] == group, name
    assert derived.primary_group == profile.primary_group


def test_backends_match(profile: Profile, derived: Profile) -> None:
    assert list(derived.backends) == list(profile.backends)
    for name, backend in profile.backends.items():
        # admin_url is where the harness reads ground truth, not a gateway setting.
        assert dataclasses.replace(derived.backends[name], admin_url="") == dataclasses.replace(
            backend, admin_url=""
        ), name
    assert derived.redis_proxy == profile.redis_proxy


def test_policy_matches_field_by_field(profile: Profile, derived: Profile) -> None:
    fields = [f.name for f in dataclasses.fields(profile.policy)]
    assert "allowed_fails" in fields
    assert "cache_ttl_s" in fields
    differ = {
        name: (getattr(derived.policy, name), getattr(profile.policy, name))
        for name in fields
        if name not in FROM_THE_STACK_FILE
        and getattr(derived.policy, name) != getattr(profile.policy, name)
    }
    assert differ == {}, "policy.<field>: (derived from litellm.yaml, in aistack.yaml)"


def test_redis_breaker_window_matches(profile: Profile) -> None:
    env = load_stack_spec(REFERENCE_SPEC).services["gateway"].env
    assert float(env["REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT"]) == profile.policy.redis_recovery_s


def test_cooldown_sync_interval_matches(profile: Profile) -> None:
    spec = load_stack_spec(REFERENCE_SPEC)
    for name in (spec.gateway, *spec.gateway_replicas):
        assert name is not None
        env = spec.services[name].env
        assert (
            float(env["DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS"])
            == profile.policy.state_sync_s
        )


def test_the_derivation_is_what_the_scenarios_would_read(tmp_path: Path, profile: Profile) -> None:
    """A profile that states only what a LiteLLM config cannot, the rest from litellm_config:."""
    template = load_stack_spec(REFERENCE_SPEC).services["gateway"].config_template
    assert template is not None
    path = tmp_path / "aistack.yaml"
    path.write_text(
        f"litellm_config: {template}\n"
        "gateway: {url: '', key_env: AISTACK_GATEWAY_KEY}\n"
        "policy: {redis_recovery_s: 3}\n"
    )
    filled = load_profile(path)
    assert filled.policy == profile.policy
    assert filled.model_groups == profile.model_groups
    assert filled.litellm_config == template
