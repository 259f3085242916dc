"""LiteLLM 1.106.2's rules as the derivation applies them, and every error it reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .litellm_configs import base, derive, only_error

# ---------------------------------------------------------------------------------------
# what maps


def test_the_base_config_maps_without_notes_or_errors(tmp_path: Path) -> None:
    result = derive(tmp_path, base())
    assert result.errors == []
    assert result.profile["backends"] == {
        "a": {"model_group": "chat", "proxy": "a"},
        "b": {"model_group": "chat", "proxy": "b"},
        "c": {"model_group": "spare", "proxy": "c"},
    }
    assert result.profile["model_groups"] == {
        "chat": {"deployments": ["a", "b"], "fallbacks": ["spare"]},
        "spare": {"deployments": ["c"]},
    }
    assert result.profile["policy"] == {
        "allowed_fails": 1,
        "num_retries": 1,
        "cooldown_s": 4,
        "timeout_s": 2,
        "stream_timeout_s": 1,
    }
    assert "redis" not in result.profile
    assert [n for n in result.notes if "forward_client_headers" not in n] == []


def test_litellm_defaults_are_stated_and_noted(tmp_path: Path) -> None:
    config = base()
    del config["router_settings"]
    result = derive(tmp_path, config)
    policy = result.profile["policy"]
    assert (policy["allowed_fails"], policy["cooldown_s"], policy["num_retries"]) == (3, 5, 2)
    assert (policy["timeout_s"], policy["stream_timeout_s"]) == (6000, 6000)
    for start in (
        "policy.allowed_fails: 3, LiteLLM's default",
        "policy.cooldown_s: 5,",
        "policy.num_retries: 2,",
        "timeouts of a, b, c: 6000 s, LiteLLM's default",
    ):
        assert any(n.startswith(start) for n in result.notes), start


def test_litellm_settings_fill_in_for_router_settings(tmp_path: Path) -> None:
    config = base()
    config["router_settings"] = {"cooldown_time": 4}
    config["litellm_settings"] = {
        "num_retries": 3,
        "allowed_fails": 2,
        "request_timeout": 7,
        "fallbacks": [{"chat": ["spare"]}],
    }
    result = derive(tmp_path, config)
    policy = result.profile["policy"]
    assert (policy["num_retries"], policy["allowed_fails"]) == (3, 2)
    # No router timeout: request_timeout is the router's default for both kinds.
    assert (policy["timeout_s"], policy["stream_timeout_s"]) == (7, 7)
    assert result.profile["model_groups"]["chat"]["fallbacks"] == ["spare"]


@pytest.mark.parametrize(
    ("router", "settings", "params", "expected"),
    [
        # litellm_settings.request_timeout beats router_settings.timeout (non-stream) ...
        ({"timeout": 2, "stream_timeout": 1}, {"request_timeout": 9}, {}, (9, 1)),
        # ... but a deployment's own timeout beats both; streams without a stream timeout
        # of their own take request_timeout before the deployment's timeout
        ({"timeout": 2}, {"request_timeout": 9}, {"timeout": 3}, (3, 9)),
        ({"timeout": 2}, {}, {"timeout": 3}, (3, 3)),
        ({"timeout": 2}, {}, {"request_timeout": 4, "stream_timeout": 0.5}, (4, 0.5)),
        ({}, {}, {"timeout": 3}, (3, 3)),
    ],
)
def test_timeout_precedence(
    tmp_path: Path,
    router: dict[str, Any],
    settings: dict[str, Any],
    params: dict[str, Any],
    expected: tuple[float, float],
) -> None:
    config = base()
    config["router_settings"] = {"cooldown_time": 4, **router}
    config["litellm_settings"] = settings
    for entry in config["model_list"]:
        entry["litellm_params"].update(params)
    policy = derive(tmp_path, config).profile["policy"]
    assert (policy["timeout_s"], policy["stream_timeout_s"]) == expected


def test_a_deployment_with_its_own_timeout_carries_it(tmp_path: Path) -> None:
    config = base()
    config["model_list"][2]["litellm_params"]["timeout"] = 30  # spare: in the primary's chain
    config["model_list"][1]["litellm_params"]["stream_timeout"] = 0.25
    result = derive(tmp_path, config)
    assert result.profile["policy"]["timeout_s"] == 30
    backends = result.profile["backends"]
    assert backends["a"] == {"model_group": "chat", "proxy": "a", "timeout_s": 2}
    assert backends["b"]["stream_timeout_s"] == 0.25
    assert "timeout_s" not in backends["c"]


def test_fallback_sources_and_what_litellm_skips(tmp_path: Path) -> None:
    config = base()
    config["model_list"].append(
        {
            "model_name": "last",
            "litellm_params": {"api_base": "${proxy_url:d}"},
            "model_info": {"id": "d"},
        }
    )
    config["router_settings"]["fallbacks"] = [
        {"chat": ["chat", "spare", "spare", "last"]},
        {"chat": ["last"]},
    ]
    config["router_settings"]["default_fallbacks"] = ["last"]
    config["litellm_settings"] = {"fallbacks": [{"spare": ["chat"]}]}
    result = derive(tmp_path, config)
    groups = result.profile["model_groups"]
    assert groups["chat"]["fallbacks"] == ["spare", "last"]
    assert groups["spare"]["fallbacks"] == ["last"]  # default_fallbacks, not litellm_settings
    assert "fallbacks" not in groups["last"]  # its generic chain is itself
    for start in (
        "model_groups.chat.fallbacks: 'chat' left out, LiteLLM skips it",
        "model_groups.chat.fallbacks: 'spare' left out",
        "router_settings.fallbacks.1: a second chain for 'chat'; LiteLLM uses the first",
        "litellm_settings.fallbacks: ignored, LiteLLM uses router_settings.fallbacks",
    ):
        assert any(n.startswith(start) for n in result.notes), start


def test_a_generic_entry_and_max_fallbacks_zero(tmp_path: Path) -> None:
    config = base()
    config["router_settings"]["fallbacks"] = [{"*": ["spare"]}]
    assert derive(tmp_path, config).profile["model_groups"]["chat"]["fallbacks"] == ["spare"]
    config["router_settings"]["max_fallbacks"] = 0
    result = derive(tmp_path, config)
    assert "fallbacks" not in result.profile["model_groups"]["chat"]
    assert "max_fallbacks: 0: LiteLLM tries no fallback, so no chain is promised" in result.notes


def test_rate_limits_with_the_enforcing_pre_call_check(tmp_path: Path) -> None:
    config = base()
    config["model_list"][2]["rpm"] = 7  # the deployment's own field
    config["model_list"][0]["model_info"]["tpm"] = 1000
    config["router_settings"]["optional_pre_call_checks"] = ["enforce_model_rate_limits"]
    config["router_settings"]["retry_policy"] = {"RateLimitErrorRetries": 0}
    result = derive(tmp_path, config)
    assert result.errors == []
    assert result.profile["backends"]["c"]["rpm"] == 7
    assert result.profile["backends"]["a"]["tpm"] == 1000
    assert result.profile["policy"]["rate_limit"] == {
        "model_group": "spare",
        "rpm": 7,
        "window_s": 60,
        "max_hold_s": 1,
        "retry_after_header": "llm_provider-retry-after",
    }
    assert result.profile["policy"]["retry_policy"] == {"RateLimitErrorRetries": 0}


def test_a_group_retry_policy_replaces_the_global_one(tmp_path: Path) -> None:
    config = base()
    config["router_settings"]["retry_policy"] = {"TimeoutErrorRetries": 3}
    config["router_settings"]["model_group_retry_policy"] = {
        "chat": {"TimeoutErrorRetries": 0},
        "spare": {"DefaultRetries": 1},
    }
    result = derive(tmp_path, config)
    assert result.profile["policy"]["retry_policy"] == {"TimeoutErrorRetries": 0}
    assert "router_settings.model_group_retry_policy.spare: not checked by any scenario" in (
        result.notes
    )


def test_the_cache(tmp_path: Path) -> None:
    config = base()
    config["litellm_settings"] = {
        "cache": True,
        "cache_params": {"host": "${proxy_host:redis}", "port": "${proxy_port:redis}",
                         "ttl": 60, "default_in_redis_ttl": 30, "mode": "default_off"},
    }  # fmt: skip
    config["router_settings"]["redis_url"] = "redis://${proxy_host:redis}:${proxy_port:redis}"
    result = derive(tmp_path, config)
    assert result.profile["redis"] == {"proxy": "redis"}
    policy = result.profile["policy"]
    assert (policy["cache_ttl_s"], policy["cache_mode"]) == (30, "default_off")
    assert policy["redis_recovery_s"] == 60
    assert "cache_namespace" not in policy


def test_a_cache_not_in_redis_is_a_note(tmp_path: Path) -> None:
    config = base()
    config["litellm_settings"] = {"cache": True, "cache_params": {"type": "local", "ttl": 5}}
    result = derive(tmp_path, config)
    assert "cache_ttl_s" not in result.profile["policy"]
    assert "redis" not in result.profile
    assert any(n.startswith("litellm_settings.cache_params.type: 'local'") for n in result.notes)
    config["litellm_settings"] = {"cache_params": {"type": "redis", "ttl": 5}}
    unused = derive(tmp_path, config).notes
    assert "litellm_settings.cache_params: unused, litellm_settings.cache is not true" in unused


def test_a_backend_reached_directly_has_no_proxy(tmp_path: Path) -> None:
    config = base()
    config["model_list"][2]["litellm_params"]["api_base"] = "${url:c}/v1"
    result = derive(tmp_path, config)
    assert "proxy" not in result.profile["backends"]["c"]
    assert "backends.c: api_base ${url:c}/v1 bypasses Toxiproxy; no fault can be put on it" in (
        result.notes
    )


# ---------------------------------------------------------------------------------------
# every error: file, line, key path, value, the fix


def edit(path: list[Any], value: Any) -> dict[str, Any]:
    config = base()
    node: Any = config
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    elif isinstance(node, list) and path[-1] == len(node):
        node.append(value)
    else:
        node[path[-1]] = value
    return config


DELETE = object()

ERRORS = [
    (["model_list"], [], "model_list: [] (list): expected a list of deployments"),
    (["model_list", 0, "model_name"], None, "model_list.0.model_name: None (NoneType): expected"),
    (["model_list", 3], {"model_name": "openai/*", "litellm_params": {"model": "openai/*"}},
     "model_list.3.model_name: 'openai/*' (str): a wildcard routes any model name"),
    (["model_list", 1, "model_info"], {}, "model_list.1.model_info: {} (dict): no model_info.id; "
     "LiteLLM then names the deployment with a hash of the group name and every litellm_params "
     "value, secrets from os.environ/ resolved (Router.generate_model_id)"),
    (["model_list", 1, "model_info", "id"], "a",
     "model_list.1.model_info.id: 'a' (str): another deployment has this id"),
    (["model_list", 0, "litellm_params", "api_base"], DELETE,
     "model_list.0.litellm_params.api_base: None (NoneType): no api_base, so the gateway "
     "reaches the provider directly and no Toxiproxy proxy can sit in between; set "
     "litellm_params.api_base"),
    (["model_list", 0, "litellm_params", "timeout"], "os.environ/TIMEOUT",
     "model_list.0.litellm_params.timeout: 'os.environ/TIMEOUT' (str): read from the environment "
     "when the gateway starts, so unknown here; write the number in the config"),
    (["router_settings"], ["allowed_fails: 1"],
     "router_settings: ['allowed_fails: 1'] (list): expected a mapping; fix the LiteLLM config"),
    (["model_list", 0, "litellm_params", "rpm"], 0,
     "model_list.0.litellm_params.rpm: 0 (int): a rpm of 0 admits nothing"),
    (["model_list", 0, "model_info", "cooldown_time"], 0,
     "model_list.0.model_info.cooldown_time: 0 (int): LiteLLM cools this deployment down for 0 s"),
    (["router_settings", "timeout"], "soon",
     "router_settings.timeout: 'soon' (str): expected a number of seconds >= 0"),
    (["router_settings", "num_retries"], 1.5,
     "router_settings.num_retries: 1.5 (float): expected a whole number >= 0"),
    (["router_settings", "disable_cooldowns"], True,
     "router_settings.disable_cooldowns: True (bool): LiteLLM never cools a failing deployment"),
    (["router_settings", "fallbacks"], [{"chat": ["spare"], "spare": ["chat"]}],
     "router_settings.fallbacks.0: {'chat': ['spare'], 'spare': ['chat']} (dict): expected a "
     "mapping with one key"),
    (["router_settings", "fallbacks"], [{"chta": ["spare"]}],
     "router_settings.fallbacks.0.chta: 'chta' (str): no model_list entry has model_name 'chta'; "
     "use one of: chat, spare"),
    (["router_settings", "fallbacks"], [{"chat": ["spare", "nope"]}],
     "no model_list entry has model_name 'nope'; use one of: chat, spare"),
    (["router_settings", "fallbacks"], [{"chat": "spare"}],
     "router_settings.fallbacks.0.chat: 'spare' (str): expected a list of model group names"),
    (["router_settings", "fallbacks"], [{"chat": [{"model": "spare", "temperature": 0}]}],
     "a target with its own parameters cannot be stated in the profile"),
    (["router_settings", "fallbacks"], {"chat": ["spare"]},
     "router_settings.fallbacks: {'chat': ['spare']} (dict): expected a list"),
    (["router_settings", "retry_policy"], {"TimeoutRetries": 1},
     "router_settings.retry_policy.TimeoutRetries: 'TimeoutRetries' (str): expected one of "
     "BadRequestErrorRetries"),
    (["router_settings", "model_group_retry_policy"], {"chta": {"DefaultRetries": 1}},
     "router_settings.model_group_retry_policy.chta: 'chta' (str): no model group 'chta'"),
    (["model_list", 2, "litellm_params", "rpm"], 5,
     "router_settings: 'simple-shuffle' (str): rpm/tpm are set on c, but LiteLLM 1.106.2 refuses "
     "requests over them only with routing_strategy: usage-based-routing-v2 or "
     "optional_pre_call_checks: [enforce_model_rate_limits]"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "expected"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_name_file_line_key_value_and_fix(
    tmp_path: Path, path: list[Any], value: Any, expected: str
) -> None:
    result = derive(tmp_path, edit(path, value))
    message = only_error(result)
    assert message.startswith(str(tmp_path / "config.yaml") + ":")
    assert expected in message


def test_rpm_under_routing_that_does_not_refuse(tmp_path: Path) -> None:
    config = base()
    config["model_list"][2]["litellm_params"]["rpm"] = 5
    for strategy in ("usage-based-routing", "latency-based-routing"):
        config["router_settings"]["routing_strategy"] = strategy
        result = derive(tmp_path, config)
        message = only_error(result)
        assert f"router_settings.routing_strategy: '{strategy}' (str): rpm/tpm are set on c" in (
            message
        )
        assert f"(with {strategy} they only steer routing)" in message
        assert "rpm" not in result.profile["backends"]["c"]
        assert "rate_limit" not in result.profile["policy"]
    config["router_settings"]["routing_strategy"] = "fastest"
    messages = [e.message for e in derive(tmp_path, config).errors]
    assert any("'fastest' (str): expected one of simple-shuffle, " in m for m in messages)


def test_rpm_refusals_that_are_retried_are_held(tmp_path: Path) -> None:
    config = base()
    config["model_list"][2]["litellm_params"]["rpm"] = 5
    config["router_settings"]["routing_strategy"] = "usage-based-routing-v2"
    message = only_error(derive(tmp_path, config))
    assert "router_settings.model_group_retry_policy.spare: 1 (int): over its rpm, LiteLLM " in (
        message
    )
    assert "set model_group_retry_policy: {spare: {RateLimitErrorRetries: 0}}" in message


def test_cache_errors(tmp_path: Path) -> None:
    config = base()
    config["litellm_settings"] = {"cache": True, "cache_params": {"host": "h"}}
    message = only_error(derive(tmp_path, config))
    assert (
        "litellm_settings.cache_params.ttl: None (NoneType): a Redis response cache without "
        in (message)
    )
    config["litellm_settings"]["cache_params"] = {"ttl": 5, "namespace": "os.environ/NS"}
    message = only_error(derive(tmp_path, config))
    assert "cache_params.namespace: 'os.environ/NS' (str): read from the environment" in message


def test_the_cache_and_router_state_through_different_proxies(tmp_path: Path) -> None:
    config = base()
    config["litellm_settings"] = {
        "cache": True,
        "cache_params": {"host": "${proxy_host:r1}", "ttl": 5},
    }
    config["router_settings"]["redis_host"] = "${proxy_host:r2}"
    message = only_error(derive(tmp_path, config))
    assert "the cache and the router state go through different proxies" in message
    assert "litellm_settings.cache_params.host -> r1; router_settings.redis_host -> r2" in message


def test_error_lines_point_into_the_file(tmp_path: Path) -> None:
    text = (
        "model_list:\n"
        "  - model_name: chat\n"
        "    litellm_params: {model: openai/m, api_base: 'http://x'}\n"
        "  - model_name: chat\n"
        "    litellm_params:\n"
        "      model: openai/m\n"
        "    model_info: {id: b}\n"
    )
    messages = sorted(e.message for e in derive(tmp_path, text).errors)
    path = tmp_path / "config.yaml"
    assert messages[0].startswith(f"{path}:2: model_list.0.model_info: None (NoneType): no ")
    assert messages[1].startswith(f"{path}:5: model_list.1.litellm_params.api_base: None")
