"""Run records and the reaper: no process of a crashed earlier run survives the next start.

Every stack the local backend starts gets a *run id*. Each child process inherits it in
its environment (``AISTACK_RUN_ID``), and a record ``<state dir>/runs/<run id>.json``
names the owner (the pytest or ``aistack up`` process) and the services. When a run
ends normally its record is removed. When its owner was killed (``kill -9``, OOM,
a closed terminal), the record stays behind; the next start finds it, sees the owner
is gone and kills every process that carries that run id — found by scanning
``/proc/*/environ``, so a grandchild that left its process group is found too, and a
recycled PID that belongs to someone else is never touched.

A run started with ``keep_up`` survives its owner on purpose; only ``aistack down``
stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RUN_ID_ENV = "AISTACK_RUN_ID"
STATE_DIR_ENV = "AISTACK_STATE_DIR"


def state_dir() -> Path:
    """Per-user directory for run records (``$AISTACK_STATE_DIR`` overrides it)."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return Path(base) / f"pytest-aistack-{os.getuid()}"


@dataclass
class RunRecord:
    run_id: str
    owner_pid: int
    owner_start: int  # the owner's start time in clock ticks; guards against PID reuse
    kind: str  # "pytest" | "up" | "demo"
    kept: bool = False  # left running on purpose (--aistack-keep-up)
    log_dir: str = ""
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> pid, start
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return runs_dir() / f"{self.run_id}.json"

    def save(self) -> None:
        runs_dir().mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(self.path)  # atomic: a reader never sees half a record

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @property
    def groups(self) -> dict[int, int]:
        """Process group leader pid -> its start time, for every recorded service."""
        return {
            int(svc["pid"]): int(svc["start"])
            for svc in self.services.values()
            if isinstance(svc.get("pid"), int) and isinstance(svc.get("start"), int)
        }

    def owner_alive(self) -> bool:
        return process_start_time(self.owner_pid) == self.owner_start


def runs_dir() -> Path:
    return state_dir() / "runs"


def load_runs() -> list[RunRecord]:
    records = []
    for path in sorted(runs_dir().glob("*.json")):
        try:
            records.append(RunRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue  # half-written by a dying process; the reaper cannot trust it
    return records


def _stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, …"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    return stat[stat.rindex(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat)."""
    fields = _stat(pid)
    return int(fields[19]) if fields is not None else None


def pids_with_run_id(run_id: str, groups: Mapping[int, int] | None = None) -> list[int]:
    """Every live process of the run: carrying ``AISTACK_RUN_ID=run_id`` in its
    environment, or a member of one of its recorded process groups.

    ``groups`` maps a service's group leader pid to its start time. The environment is
    not enough on its own: redis-server overwrites its environ area with its process
    title, so /proc/PID/environ no longer shows the run id. A group is ours while its
    leader still has the recorded start time, or when the leader is gone: Linux does
    not hand out a pid that is still some group's id, so surviving members are ours.
    """
    ours = {
        leader
        for leader, start in (groups or {}).items()
        if process_start_time(leader) in (start, None)
    }
    needle = f"{RUN_ID_ENV}={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        fields = _stat(entry.name)
        if fields is None or fields[0] == "Z":
            continue  # gone, or a zombie: nothing left to stop
        if int(fields[2]) in ours:
            found.append(int(entry.name))
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_run(run_id: str, groups: Mapping[int, int] | None = None, grace: float = 3.0) -> list[int]:
    """SIGTERM every process of the run, SIGKILL what is left after ``grace`` s."""
    victims = pids_with_run_id(run_id, groups)
    for pid in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids_with_run_id(run_id, groups) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for exit with a deadline
    for pid in pids_with_run_id(run_id, groups):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return victims


def reap_orphans() -> list[RunRecord]:
    """Stop the processes of every recorded run whose owner died; return those runs."""
    reaped = []
    for record in load_runs():
        if record.kept or record.owner_alive():
            continue
        kill_run(record.run_id, record.groups)
        record.remove()
        reaped.append(record)
    return reaped


def own_start_time() -> int:
    start = process_start_time(os.getpid())
    assert start is not None, "/proc/self/stat is readable on Linux"
    return start
