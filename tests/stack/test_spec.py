from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_aistack.stack import placeholders
from pytest_aistack.stack.factory import REFERENCE_SPEC
from pytest_aistack.stack.spec import (
    HealthCheck,
    StackSpecError,
    load_stack_spec,
    parse_stack_spec,
    render_placeholders,
)

HERE = Path("stack.yaml")


def spec_of(services: dict[str, object], **top: object) -> object:
    return {"services": services, **top}


def test_reference_stack_starts_gateway_after_everything_it_depends_on() -> None:
    spec = load_stack_spec(REFERENCE_SPEC)
    waves = [[s.name for s in wave] for wave in spec.startup_waves()]
    # Two instances of the same gateway, started together (shared state in Redis).
    assert waves[-1] == ["gateway", "gateway-2"]
    assert spec.gateway_replicas == ("gateway-2",)
    assert spec.services["gateway-2"].command == spec.services["gateway"].command
    assert spec.services["gateway-2"].config_template == spec.services["gateway"].config_template
    assert set(waves[0]) == {"toxiproxy", "redis", "vllm-a", "vllm-b", "ollama", "cloud"}
    assert spec.gateway == "gateway"
    assert spec.toxiproxy == "toxiproxy"
    assert set(spec.proxied) == {"redis", "vllm-a", "vllm-b", "ollama", "cloud"}
    assert spec.services["redis"].health == HealthCheck("redis")
    assert spec.services["gateway"].health == HealthCheck("http", "/health/readiness")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "expected a mapping with a 'services:' mapping"),
        (spec_of({"a": {"command": []}}), "services.a.command: expected a non-empty list"),
        (spec_of({"a": {"command": ["x"], "colour": 1}}), "unknown key(s) colour"),
        (spec_of({"a": {"command": ["x"], "port": 80}}), "services.a.port: expected 'announce'"),
        (
            spec_of({"a": {"command": ["x"], "health": {"http": "health"}}}),
            "services.a.health: expected one of",
        ),
        (
            spec_of({"a": {"command": ["x"], "depends_on": ["b"]}}),
            "depends_on names 'b', which is not a service; known: a",
        ),
        (
            spec_of(
                {
                    "a": {"command": ["x"], "depends_on": ["b"]},
                    "b": {"command": ["x"], "depends_on": ["a"]},
                }
            ),
            "services a, b depend on each other in a cycle",
        ),
        (
            spec_of({"a": {"command": ["x"], "proxy": "p"}}),
            "no 'toxiproxy: <service>' names the proxy host",
        ),
        (spec_of({"a": {"command": ["x"]}}, gateway="gw"), "gateway: 'gw' is not a service"),
        (
            spec_of({"a": {"command": ["x"], "startup_timeout": 0}}),
            "startup_timeout: expected seconds > 0, got 0",
        ),
    ],
)
def test_invalid_stack_files_name_file_key_and_fix(raw: object, message: str) -> None:
    with pytest.raises(StackSpecError) as excinfo:
        parse_stack_spec(raw, HERE)
    assert str(excinfo.value).startswith(f"{HERE}: ")
    assert message in str(excinfo.value)


GATEWAYS: dict[str, object] = {"gw": {"command": ["x"]}, "gw2": {"command": ["x"]}}


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ({"gateway_replicas": ["gw2"]}, "gateway_replicas: needs 'gateway: <service>'"),
        ({"gateway": "gw", "gateway_replicas": "gw2"}, "expected a list of service names"),
        ({"gateway": "gw", "gateway_replicas": ["gw3"]}, "'gw3' is not a service; known: gw, gw2"),
        ({"gateway": "gw", "gateway_replicas": ["gw"]}, "'gw' is named twice"),
        ({"gateway": "gw", "gateway_replicas": ["gw2", "gw2"]}, "'gw2' is named twice"),
    ],
)
def test_gateway_replicas_must_be_other_services(top: dict[str, object], message: str) -> None:
    with pytest.raises(StackSpecError) as err:
        parse_stack_spec(spec_of(GATEWAYS, **top), HERE)
    assert message in str(err.value)
    assert str(err.value).startswith("stack.yaml: gateway_replicas")


def test_gateway_replicas_parse_in_order() -> None:
    spec = parse_stack_spec(spec_of(GATEWAYS, gateway="gw", gateway_replicas=["gw2"]), HERE)
    assert spec.gateway_replicas == ("gw2",)
    assert parse_stack_spec(spec_of(GATEWAYS, gateway="gw"), HERE).gateway_replicas == ()


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "stack.yaml"
    bad.write_text("services: [unclosed\n")
    with pytest.raises(StackSpecError, match=r"stack\.yaml: not valid YAML"):
        load_stack_spec(bad)


def test_placeholders_fill_known_names_and_reject_unknown_ones() -> None:
    values = {"port": "4000", "proxy_url:vllm-a": "http://127.0.0.1:5"}
    text = "api_base: ${proxy_url:vllm-a}/v1 port=${port}"
    assert render_placeholders(text, values, "t") == "api_base: http://127.0.0.1:5/v1 port=4000"
    with pytest.raises(StackSpecError, match=r"t: unknown placeholder \$\{url:nope\}; known"):
        render_placeholders("${url:nope}", values, "t")
    assert render_placeholders("$${port}", values, "t") == "${port}"


def test_reference_services_listen_on_the_host_and_port_placeholders() -> None:
    spec = load_stack_spec(REFERENCE_SPEC)
    for service in spec.services.values():
        command = list(service.command)
        assert "${host}" in command, service.name
        assert command[command.index("--port") + 1] == "${port}", service.name


def _web(command: list[str], **more: object) -> dict[str, object]:
    return {"command": command, **more}


@pytest.mark.parametrize(
    ("services", "key", "message"),
    [
        (
            {"web": _web(["srv", "--port", "${prot}"])},
            "services.web.command",
            "${prot} is not a placeholder; allowed: ${python}, ${host}, ${port}",
        ),
        (
            {"web": _web(["srv"], env={"TOKEN": "${HOME}x${admin-token}"})},
            "services.web.env.TOKEN",
            "${admin-token} is not a placeholder; allowed:",
        ),
        (
            {"web": _web(["srv", "${hostname:web}"])},
            "services.web.command",
            "${hostname:web} is not a placeholder; allowed:",
        ),
        (
            {"web": _web(["srv", "${url:nope}"])},
            "services.web.command",
            "${url:nope} names no service; known: web",
        ),
        (
            {"a": _web(["srv"]), "web": _web(["srv", "--upstream", "${url:a}"])},
            "services.web.command",
            "${url:a} names a, which must start first: add it to services.web.depends_on",
        ),
        (
            {"a": _web(["srv"]), "web": _web(["srv", "${proxy_url:a}"], depends_on=["a"])},
            "services.web.command",
            "${proxy_url:a} needs a proxy in front of a: give services.a a proxy: name",
        ),
        (
            {"web": _web(["srv", "--config", "${config}"])},
            "services.web.command",
            "${config} needs a config_template: to render",
        ),
    ],
)
def test_unknown_placeholders_fail_at_load_naming_file_service_key_and_allowed(
    services: dict[str, object], key: str, message: str
) -> None:
    with pytest.raises(StackSpecError) as caught:
        parse_stack_spec(spec_of(services), HERE)
    assert str(caught.value).startswith(f"{HERE}: {key}: ")
    assert message in str(caught.value)


def test_every_allowed_placeholder_and_an_escaped_one_load(tmp_path: Path) -> None:
    template = tmp_path / "app.yaml"
    template.write_text("upstream: ${proxy_url:db}\nport: ${port}\n")
    own = " ".join(f"${{{name}}}" for name in placeholders.OWN_NAMES)
    of_db = " ".join(f"${{{name}:db}}" for name in placeholders.SERVICE_NAMES)
    raw = spec_of(
        {
            "proxy": {"command": ["srv"]},
            "db": {"command": ["srv", "--bind", "${host}"], "proxy": "db"},
            "app": {
                "command": ["sh", "-c", f"echo {own} {of_db} $${{shell_var}}"],
                "env": {"DB": "${url:db}"},
                "config_template": "app.yaml",
                "depends_on": ["db", "proxy"],
            },
        },
        toxiproxy="proxy",
    )
    spec = parse_stack_spec(raw, tmp_path / "stack.yaml")
    assert spec.services["app"].config_template == template


def test_placeholders_of_a_config_template_are_checked_at_load(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("# ${...} in a comment is no placeholder\nkey: ${ky}\n")
    raw = spec_of({"app": {"command": ["srv"], "config_template": "app.yaml"}})
    with pytest.raises(StackSpecError) as caught:
        parse_stack_spec(raw, tmp_path / "stack.yaml")
    assert f"services.app.config_template ({tmp_path / 'app.yaml'}): ${{ky}} is not" in str(
        caught.value
    )
    raw = spec_of({"app": {"command": ["srv"], "config_template": "missing.yaml"}})
    with pytest.raises(StackSpecError, match=r"services\.app\.config_template: .*missing\.yaml"):
        parse_stack_spec(raw, tmp_path / "stack.yaml")


def test_reference_gateway_template_is_valid_yaml_once_rendered() -> None:
    spec = load_stack_spec(REFERENCE_SPEC)
    template = spec.services["gateway"].config_template
    assert template is not None
    names = ["vllm-a", "vllm-b", "ollama", "cloud", "redis"]
    values = {f"proxy_url:{n}": "http://127.0.0.1:1" for n in names}
    values.update({f"proxy_host:{n}": "127.0.0.1" for n in names})
    values.update({f"proxy_port:{n}": "1" for n in names})
    config = yaml.safe_load(render_placeholders(template.read_text(), values, str(template)))
    assert {m["model_info"]["id"] for m in config["model_list"]} >= set(names) - {"redis"}
