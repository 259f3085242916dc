"""Labels on every container and network of a docker run, and the reaper that reads them.

The docker counterpart of :mod:`pytest_aistack.stack.runs`: each container and the
network of one :class:`~pytest_aistack.stack.docker.backend.DockerBackend` run carry labels
naming the run and its owner (pid, start time, boot id of the machine). A run whose
owner died without ``down()`` — ``kill -9``, OOM, a closed terminal — leaves them
behind; the next run finds them by label and removes them before it starts anything.

The labels are the whole record: no file on the host can get out of step with what
the engine holds, and ``docker ps --filter label=io.pytest-aistack.run-id`` shows
them. A run owned by another machine (a different boot id, e.g. a shared remote
engine) is never touched, and neither is a run left up on purpose (``keep_up``);
:func:`remove_run` removes one of those when asked (``aistack down``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_aistack.stack import runs

PREFIX = "io.pytest-aistack."
RUN_ID = PREFIX + "run-id"
SERVICE = PREFIX + "service"
OWNER_PID = PREFIX + "owner-pid"
OWNER_START = PREFIX + "owner-start"
BOOT_ID = PREFIX + "boot-id"
KIND = PREFIX + "kind"
KEPT = PREFIX + "kept"


def boot_id() -> str:
    """This boot of this machine (``/proc/sys/kernel/random/boot_id``).

    Owner pids in labels mean something only on the machine and boot that wrote them.
    """
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def run_labels(run_id: str, *, kind: str, kept: bool) -> dict[str, str]:
    """Labels for every container and the network of run ``run_id`` owned by this process."""
    return {
        RUN_ID: run_id,
        OWNER_PID: str(os.getpid()),
        OWNER_START: str(runs.own_start_time()),
        BOOT_ID: boot_id(),
        KIND: kind,
        KEPT: "true" if kept else "false",
    }


def owner_gone(labels: dict[str, str]) -> bool:
    """True only when the owner provably died: same machine and boot, pid not that process."""
    if labels.get(KEPT) == "true":
        return False
    if not labels.get(BOOT_ID) or labels.get(BOOT_ID) != boot_id():
        return False
    try:
        pid, start = int(labels[OWNER_PID]), int(labels[OWNER_START])
    except (KeyError, ValueError):
        return False
    return runs.process_start_time(pid) != start


@dataclass
class LeftoverRun:
    run_id: str
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)


def find_runs(client: Any) -> dict[str, tuple[dict[str, str], LeftoverRun]]:
    """Every labelled run the engine holds: run id -> (labels of one member, members)."""
    found: dict[str, tuple[dict[str, str], LeftoverRun]] = {}
    for container in client.containers.list(all=True, filters={"label": RUN_ID}):
        labels: dict[str, str] = dict(container.labels)
        entry = found.setdefault(labels[RUN_ID], (labels, LeftoverRun(labels[RUN_ID])))
        entry[1].containers.append(container.name)
    for network in client.networks.list(filters={"label": RUN_ID}):
        labels = dict(network.attrs.get("Labels") or {})
        entry = found.setdefault(labels[RUN_ID], (labels, LeftoverRun(labels[RUN_ID])))
        entry[1].networks.append(network.name)
    return found


def remove_run(client: Any, run_id: str) -> LeftoverRun:
    """Remove every container, then the network, labelled with ``run_id``."""
    import docker.errors

    removed = LeftoverRun(run_id)
    selector = {"label": f"{RUN_ID}={run_id}"}
    for container in client.containers.list(all=True, filters=selector):
        # NotFound: removed meanwhile (a concurrent reaper or the owner's own teardown).
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
            removed.containers.append(container.name)
    for network in client.networks.list(filters=selector):
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
            removed.networks.append(network.name)
    return removed


def reap_leftovers(client: Any) -> list[LeftoverRun]:
    """Remove the containers and networks of every run whose owner died; return them."""
    reaped = []
    for run_id, (labels, _members) in sorted(find_runs(client).items()):
        if owner_gone(labels):
            reaped.append(remove_run(client, run_id))
    return reaped


def down_runs() -> list[LeftoverRun]:
    """For ``aistack down``: remove this machine's kept runs and every orphaned run.

    A run whose owner is alive and did not ask to be kept (a pytest session in
    progress) is left to its owner. Without docker-py or an answering engine there is
    nothing to remove: ``[]``.
    """
    try:
        import docker

        client = docker.from_env(timeout=10)
    except Exception:  # no docker-py, no engine: no docker runs to stop
        return []
    try:
        client.ping()
    except Exception:
        client.close()
        return []
    try:
        removed = []
        for run_id, (labels, _members) in sorted(find_runs(client).items()):
            ours_kept = labels.get(KEPT) == "true" and labels.get(BOOT_ID) == boot_id()
            if ours_kept or owner_gone(labels):
                removed.append(remove_run(client, run_id))
        return removed
    finally:
        client.close()
