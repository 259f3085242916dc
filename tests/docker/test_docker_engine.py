"""The parts of the docker backend that need no engine: commands, ports, labels, reaping rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_aistack.stack import docker_runs, runs
from pytest_aistack.stack.docker import DockerBackend, DockerStackError
from pytest_aistack.stack.docker_engine import PROXY_PORT_BASE, container_argv, proxy_ports
from pytest_aistack.stack.spec import load_stack_spec


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["python", "-m", "x", "--host", "127.0.0.1", "--port", "0"],
            ["python", "-m", "x", "--host", "0.0.0.0", "--port", "8000"],
        ),
        (
            ["redis-server", "--bind", "127.0.0.1", "--port", "6379"],
            ["redis-server", "--bind", "0.0.0.0", "--port", "6379"],
        ),
        (["srv", "--host=localhost", "--port=0"], ["srv", "--host=0.0.0.0", "--port=8000"]),
        # A port that is not 0 was chosen by the spec (or by ${port}) and stays.
        (["srv", "--port", "4000"], ["srv", "--port", "4000"]),
        # Values that merely look like options are left alone.
        (["echo", "0", "--hostname", "h"], ["echo", "0", "--hostname", "h"]),
    ],
)
def test_container_argv_listens_on_every_interface(argv: list[str], expected: list[str]) -> None:
    assert container_argv(argv, 8000) == expected


def test_proxy_ports_are_fixed_and_distinct(small_stack_yaml: Path) -> None:
    spec = load_stack_spec(small_stack_yaml)
    assert proxy_ports(spec) == {"redis": PROXY_PORT_BASE}
    reference = load_stack_spec(Path(__file__).parents[2] / "reference_stack" / "stack.yaml")
    ports = proxy_ports(reference)
    assert sorted(ports) == sorted(s.name for s in reference.services.values() if s.proxy)
    assert len(set(ports.values())) == len(ports)


def _labels(**changes: str) -> dict[str, str]:
    labels = docker_runs.run_labels("r1", kind="pytest", kept=False)
    labels.update(changes)
    return labels


def test_own_run_is_not_reaped() -> None:
    assert docker_runs.owner_gone(_labels()) is False


def test_run_of_a_dead_owner_is_reaped() -> None:
    # pid 1's start time is never the one recorded for it here.
    start = runs.process_start_time(os.getpid())
    assert start is not None
    assert docker_runs.owner_gone(_labels(**{docker_runs.OWNER_START: str(start + 1)})) is True


def test_run_of_another_machine_or_kept_run_is_left_alone() -> None:
    dead = {docker_runs.OWNER_START: "1"}
    assert docker_runs.owner_gone(_labels(**dead, **{docker_runs.BOOT_ID: "other-boot"})) is False
    assert docker_runs.owner_gone(_labels(**dead, **{docker_runs.KEPT: "true"})) is False
    assert docker_runs.owner_gone({docker_runs.RUN_ID: "r1"}) is False


def test_binary_chaos_engine_is_rejected_with_the_choices(small_stack_yaml: Path) -> None:
    spec = load_stack_spec(small_stack_yaml)
    with pytest.raises(DockerStackError, match=r"use auto, docker .* or embedded"):
        DockerBackend(spec, log_dir=small_stack_yaml.parent, chaos_engine="binary")
