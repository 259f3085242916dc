"""After ``kill -9`` of a pytest run on the docker backend, the next run clears its leftovers."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_aistack.stack.docker import DockerBackend, DockerImages
from pytest_aistack.stack.docker import labels as docker_labels
from pytest_aistack.stack.spec import load_stack_spec

pytestmark = pytest.mark.requires_docker

UP_MARKER = "CRASH-TEST-UP "

# The run that gets killed: brings the stack up, says so, then waits to be killed.
VICTIM = """
import threading
from pathlib import Path

from pytest_aistack.stack.docker import DockerBackend, DockerImages
from pytest_aistack.stack.spec import load_stack_spec


def test_hold_the_stack_up(tmp_path):
    images = DockerImages(services={services!r}, redis={redis!r}, toxiproxy={toxiproxy!r})
    backend = DockerBackend(
        load_stack_spec(Path({spec!r})), log_dir=tmp_path, images=images, kind="crash-test"
    )
    backend.up()
    print({marker!r} + backend.run_id, flush=True)
    # Killed with SIGKILL long before this wait ends; down() is never reached.
    threading.Event().wait(120)
    backend.down()
"""


def _read_line_with(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = proc.stdout.readline()
        if not line:
            break  # the victim exited early
        seen.append(line)
        if prefix in line:
            return line.split(prefix, 1)[1].strip()
    raise AssertionError(f"no {prefix!r} line within {timeout} s; output:\n{''.join(seen)}")


def _members(client: Any, run_id: str) -> tuple[list[str], list[str]]:
    selector = {"label": f"{docker_labels.RUN_ID}={run_id}"}
    return (
        sorted(c.name for c in client.containers.list(all=True, filters=selector)),
        sorted(n.name for n in client.networks.list(filters=selector)),
    )


def test_leftovers_of_a_killed_run_are_removed_before_the_next_start(
    pytester: pytest.Pytester,
    small_stack_yaml: Path,
    docker_images: DockerImages,
    docker_client_: Any,
    tmp_path: Path,
) -> None:
    victim_file = pytester.makepyfile(
        test_victim=VICTIM.format(
            services=docker_images.services,
            redis=docker_images.redis,
            toxiproxy=docker_images.toxiproxy,
            spec=str(small_stack_yaml),
            marker=UP_MARKER,
        )
    )
    victim = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(victim_file), "-s", "-q", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    victim_run = None
    try:
        victim_run = _read_line_with(victim, UP_MARKER, timeout=90)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        containers, networks = _members(docker_client_, victim_run)
        assert len(containers) == 3, "the killed run should have left its containers behind"
        assert networks == [f"aistack-{victim_run}"]

        backend = DockerBackend(
            load_stack_spec(small_stack_yaml), log_dir=tmp_path, images=docker_images
        )
        try:
            backend.up()
            assert victim_run in [r.run_id for r in backend.reaped]
            reaped = next(r for r in backend.reaped if r.run_id == victim_run)
            assert sorted(reaped.containers) == containers
            assert reaped.networks == networks
            assert _members(docker_client_, victim_run) == ([], [])
        finally:
            backend.down()
    finally:
        if victim.poll() is None:
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=10)
        if victim.stdout is not None:
            victim.stdout.close()
        if victim_run is not None:  # the test failed half-way: leave nothing either way
            docker_labels.remove_run(docker_client_, victim_run)
