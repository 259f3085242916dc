"""LiteLLM configs for the derivation tests: the fixtures and a small one to edit."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from pytest_aistack.stack.litellm.profile import Derivation, derive_profile

FIXTURES = Path(__file__).parents[2] / "fixtures" / "litellm"
PRODUCTION = FIXTURES / "production.yaml"

# The smallest config that derives a profile without errors.
BASE: dict[str, Any] = {
    "model_list": [
        {
            "model_name": "chat",
            "litellm_params": {"model": "openai/m", "api_base": "${proxy_url:a}/v1"},
            "model_info": {"id": "a"},
        },
        {
            "model_name": "chat",
            "litellm_params": {"model": "openai/m", "api_base": "${proxy_url:b}/v1"},
            "model_info": {"id": "b"},
        },
        {
            "model_name": "spare",
            "litellm_params": {"model": "openai/m", "api_base": "${proxy_url:c}/v1"},
            "model_info": {"id": "c"},
        },
    ],
    "router_settings": {
        "allowed_fails": 1,
        "cooldown_time": 4,
        "num_retries": 1,
        "timeout": 2,
        "stream_timeout": 1,
        "fallbacks": [{"chat": ["spare"]}],
    },
}


def derive(tmp_path: Path, config: dict[str, Any] | str, **kwargs: Any) -> Derivation:
    path = tmp_path / "config.yaml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False))
    return derive_profile(path, **kwargs)


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def only_error(result: Derivation) -> str:
    assert len(result.errors) == 1, [e.message for e in result.errors]
    return result.errors[0].message
