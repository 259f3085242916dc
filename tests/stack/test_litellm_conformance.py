"""The derivation agrees with LiteLLM itself: its Router, built from the same config.

The pinned LiteLLM (1.106.2) resolves each config in a subprocess
(litellm_router_probe.py); the profile derived from the config must state the same
breaker, retries, per-deployment timeouts (stream and not), rpm/tpm and fallback chains.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_aistack.stack.factory import REFERENCE_SPEC
from pytest_aistack.stack.litellm.profile import derive_profile, render
from pytest_aistack.stack.profile import Profile, load_profile
from pytest_aistack.stack.spec import load_stack_spec

from .litellm_configs import PRODUCTION, base

PROBE = Path(__file__).with_name("litellm_router_probe.py")

# Not importorskip: importing LiteLLM here would load it (and its cost-map download) into
# the test process.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("litellm") is None,
    reason="litellm is not installed (pip install 'pytest-aistack[reference]')",
)


def layered() -> dict[str, Any]:
    """Fallbacks and timeouts from litellm_settings only, and a generic chain."""
    config = base()
    config["router_settings"] = {
        "cooldown_time": 0,
        "stream_timeout": 3,
        "optional_pre_call_checks": ["enforce_model_rate_limits"],
        "retry_policy": {"RateLimitErrorRetries": 0},
    }
    config["litellm_settings"] = {
        "request_timeout": 7,
        "num_retries": 4,
        "allowed_fails": 2,
        "fallbacks": [{"spare": ["chat", "spare", "chat"]}],
        "default_fallbacks": ["spare"],
    }
    config["model_list"][0]["litellm_params"].update(timeout=2.5, rpm=9)
    config["model_list"][1]["model_info"]["tpm"] = 50
    return config


def reference_template() -> Path:
    template = load_stack_spec(REFERENCE_SPEC).services["gateway"].config_template
    assert template is not None
    return template


def what_litellm_resolves(config: Path) -> dict[str, Any]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # no download at start
    done = subprocess.run(
        [sys.executable, str(PROBE), str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    resolved: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return resolved


def derived_profile(config: Path, tmp_path: Path) -> Profile:
    result = derive_profile(config)
    assert result.errors == []
    out = tmp_path / "aistack.yaml"
    out.write_text(render(result, "test"))
    return load_profile(out)


@pytest.mark.parametrize("name", ["reference", "production", "layered"])
def test_the_profile_states_what_litellm_resolves(tmp_path: Path, name: str) -> None:
    if name == "reference":
        config = reference_template()
    elif name == "production":
        config = PRODUCTION
    else:
        config = tmp_path / "layered.yaml"
        config.write_text(yaml.safe_dump(layered()))
    litellm = what_litellm_resolves(config)
    profile = derived_profile(config, tmp_path)
    policy = profile.policy

    assert policy.allowed_fails == litellm["allowed_fails"]
    assert policy.cooldown_s == litellm["cooldown_time"]
    assert policy.num_retries == litellm["num_retries"]
    assert set(profile.backends) == set(litellm["deployments"])
    for dep_id, resolved in litellm["deployments"].items():
        backend = profile.backends[dep_id]
        assert backend.model_group == resolved["group"], dep_id
        assert profile.timeout_of(dep_id) == resolved["timeout"], dep_id
        assert profile.timeout_of(dep_id, stream=True) == resolved["stream_timeout"], dep_id
        assert (backend.rpm, backend.tpm) == (resolved["rpm"], resolved["tpm"]), dep_id
    chains = {name: list(g.fallbacks) for name, g in profile.model_groups.items() if g.fallbacks}
    assert chains == litellm["fallbacks"]
