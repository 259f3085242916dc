"""The parts of the docker backend that need no engine: commands, ports, labels, reaping rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from pytest_aistack.stack import runs
from pytest_aistack.stack.docker import DockerBackend, DockerStackError
from pytest_aistack.stack.docker import labels as docker_labels
from pytest_aistack.stack.docker.engine import (
    PROXY_PORT_BASE,
    SERVICE_PORT,
    ContainerPlan,
    DockerImages,
    network_placeholders,
    plan_container,
    proxy_ports,
)
from pytest_aistack.stack.spec import StackSpec, StackSpecError, load_stack_spec

REFERENCE = Path(__file__).parents[2] / "pytest_aistack" / "reference_stack" / "stack.yaml"
VALUES = {"admin_token": "a", "master_key": "m"}


def _plan(spec: StackSpec, name: str) -> ContainerPlan:
    ports = {s: SERVICE_PORT for s in spec.services if s != name}
    values = {**VALUES, **network_placeholders(spec, ports, set(spec.proxied))}
    return plan_container(
        spec, spec.services[name], values, images=DockerImages(), official_toxiproxy=False
    )


def test_host_and_port_placeholders_are_the_container_listen_address_and_port() -> None:
    spec = load_stack_spec(REFERENCE)
    listens = {}
    for name in spec.services:
        argv = _plan(spec, name).argv
        listen_option = "--bind" if name == "redis" else "--host"
        listens[name] = (argv[argv.index(listen_option) + 1], argv[argv.index("--port") + 1])
    assert listens == {
        "toxiproxy": ("0.0.0.0", "8474"),
        "redis": ("0.0.0.0", "6379"),
        **dict.fromkeys(("vllm-a", "vllm-b", "ollama", "cloud"), ("0.0.0.0", "8000")),
        **dict.fromkeys(("gateway", "gateway-2"), ("0.0.0.0", "8000")),
    }


def _one_service(tmp_path: Path, command: list[str]) -> StackSpec:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump({"services": {"web": {"command": command}}}))
    return load_stack_spec(path)


@pytest.mark.parametrize(
    ("command", "fix"),
    [
        (["srv", "--host", "127.0.0.1", "--port", "8000"], '"--host", "${host}"'),
        (["redis-server", "--bind", "localhost"], '"--bind", "${host}"'),
        (["srv", "--host=127.0.0.1"], '"--host", "${host}"'),
        (["srv", "--port", "0"], '"--port", "${port}"'),
        (["srv", "--port=0"], '"--port", "${port}"'),
    ],
)
def test_a_hard_coded_listen_address_is_refused_with_the_fix(
    tmp_path: Path, command: list[str], fix: str
) -> None:
    spec = _one_service(tmp_path, command)
    with pytest.raises(StackSpecError) as caught:
        _plan(spec, "web")
    message = str(caught.value)
    assert message.startswith(f"{spec.path}: services.web.command: ")
    assert f"write {fix}" in message


def test_a_command_using_the_placeholders_is_taken_as_written(tmp_path: Path) -> None:
    # An extra loopback listener of its own (an admin port) is the service's business.
    spec = _one_service(tmp_path, ["srv", "--port", "${port}", "--admin-host", "127.0.0.1"])
    assert _plan(spec, "web").argv == ["srv", "--port", "8000", "--admin-host", "127.0.0.1"]
    spec = _one_service(tmp_path, ["srv", "--hostname", "127.0.0.1", "echo", "0"])
    assert _plan(spec, "web").argv == ["srv", "--hostname", "127.0.0.1", "echo", "0"]


def test_proxy_ports_are_fixed_and_distinct(small_stack_yaml: Path) -> None:
    spec = load_stack_spec(small_stack_yaml)
    assert proxy_ports(spec) == {"redis": PROXY_PORT_BASE}
    reference = load_stack_spec(REFERENCE)
    ports = proxy_ports(reference)
    assert sorted(ports) == sorted(s.name for s in reference.services.values() if s.proxy)
    assert len(set(ports.values())) == len(ports)


def _labels(**changes: str) -> dict[str, str]:
    labels = docker_labels.run_labels("r1", kind="pytest", kept=False)
    labels.update(changes)
    return labels


def test_own_run_is_not_reaped() -> None:
    assert docker_labels.owner_gone(_labels()) is False


def test_run_of_a_dead_owner_is_reaped() -> None:
    # pid 1's start time is never the one recorded for it here.
    start = runs.process_start_time(os.getpid())
    assert start is not None
    assert docker_labels.owner_gone(_labels(**{docker_labels.OWNER_START: str(start + 1)})) is True


def test_run_of_another_machine_or_kept_run_is_left_alone() -> None:
    dead = {docker_labels.OWNER_START: "1"}
    assert (
        docker_labels.owner_gone(_labels(**dead, **{docker_labels.BOOT_ID: "other-boot"})) is False
    )
    assert docker_labels.owner_gone(_labels(**dead, **{docker_labels.KEPT: "true"})) is False
    assert docker_labels.owner_gone({docker_labels.RUN_ID: "r1"}) is False


def test_binary_chaos_engine_is_rejected_with_the_choices(small_stack_yaml: Path) -> None:
    spec = load_stack_spec(small_stack_yaml)
    with pytest.raises(DockerStackError, match=r"use auto, docker .* or embedded"):
        DockerBackend(spec, log_dir=small_stack_yaml.parent, chaos_engine="binary")


def test_a_stack_running_files_from_the_host_cache_is_refused_before_it_starts(
    tmp_path: Path,
) -> None:
    spec = load_stack_spec(REFERENCE.with_name("stack-llamacpp.yaml"))
    with pytest.raises(DockerStackError) as caught:
        DockerBackend(spec, log_dir=tmp_path)  # no engine needed: refused at construction
    assert str(caught.value).startswith(
        f"{spec.path}: services.llamacpp-a.command uses ${{cache_dir}}, a directory on this host"
    )
    assert "--aistack-backend local" in str(caught.value)
