"""Build LiteLLM's own Router from a proxy config and print what it resolved, as JSON.

Run in a subprocess (``python litellm_router_probe.py config.yaml``) so LiteLLM's globals
stay out of the test process. It follows litellm/proxy/proxy_server.py's load_config
for the parts the profile derivation covers: ``litellm_settings`` keys become
``litellm.<key>`` (``request_timeout`` also marks itself explicitly set), then
``Router(model_list=..., **router_settings)``. Redis settings and the cache are left out
(nothing may connect anywhere), and ``os.environ/`` values are replaced by a dummy
string instead of being resolved: no secret is read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

LITELLM_SETTINGS = (
    "request_timeout",
    "num_retries",
    "allowed_fails",
    "fallbacks",
    "default_fallbacks",
    "max_fallbacks",
)


def main(path: str) -> None:
    import litellm
    from litellm.router import Router
    from litellm.router_utils.fallback_event_handlers import get_fallback_model_group

    config: dict[str, Any] = yaml.safe_load(Path(path).read_text())
    for key, value in (config.get("litellm_settings") or {}).items():
        if key in LITELLM_SETTINGS:
            setattr(litellm, key, value)
            if key == "request_timeout":
                litellm.request_timeout_explicitly_set = True
    for model in config["model_list"]:
        params = model["litellm_params"]
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("os.environ/"):
                params[key] = "not-resolved"
    settings = {
        k: v for k, v in (config.get("router_settings") or {}).items() if not k.startswith("redis")
    }
    router = Router(model_list=config["model_list"], **settings)
    groups = list(dict.fromkeys(d["model_name"] for d in router.model_list))
    deployments = {}
    for d in router.model_list:
        params, info = d["litellm_params"], d.get("model_info") or {}
        # Where LowestTPMLoggingHandler_v2.pre_call_check looks for the limits.
        limits = {key: d.get(key) or params.get(key) or info.get(key) for key in ("rpm", "tpm")}
        deployments[info["id"]] = {
            "group": d["model_name"],
            "timeout": router._get_timeout(kwargs={}, data=params),
            "stream_timeout": router._get_timeout(kwargs={"stream": True}, data=params),
            **limits,
        }
    chains = {}
    for group in groups:
        found, _ = get_fallback_model_group(router.fallbacks or [], group)
        chain: list[str] = found or []
        # run_async_fallback skips the failed group itself and targets already tried.
        walked = [t for i, t in enumerate(chain) if t != group and t not in chain[:i]]
        if walked and router.max_fallbacks > 0:
            chains[group] = walked
    print(
        json.dumps(
            {
                "allowed_fails": router.allowed_fails,
                "cooldown_time": router.cooldown_time,
                "num_retries": router.num_retries,
                "deployments": deployments,
                "fallbacks": chains,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
