from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from pytest_aistack.stack import runs
from pytest_aistack.stack.local import LocalBackend, StackStartError
from pytest_aistack.stack.spec import StackSpec, parse_stack_spec

TINY = str(Path(__file__).with_name("tiny_service.py"))


def tiny_spec(tmp_path: Path, **services: dict[str, object]) -> StackSpec:
    return parse_stack_spec({"services": services}, tmp_path / "stack.yaml")


def alive(pid: int | None) -> bool:
    assert pid is not None
    return runs.process_start_time(pid) is not None and not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def test_services_start_in_dependency_order_and_stop(tmp_path: Path) -> None:
    spec = tiny_spec(
        tmp_path,
        first={"command": [sys.executable, TINY, "--port", "0"], "health": {"http": "/"}},
        second={
            "command": [sys.executable, TINY, "--port", "${port}"],
            "port": "pick",
            "health": {"http": "/health"},
            "depends_on": ["first"],
            # A dependency's address is available to its dependents.
            "env": {"FIRST_URL": "${url:first}"},
        },
    )
    backend = LocalBackend(spec, log_dir=tmp_path / "logs")
    stack = backend.up()
    try:
        for endpoint in stack.endpoints.values():
            assert httpx.get(endpoint.url, timeout=5).status_code == 200
        record = runs.load_runs()
        assert [r.run_id for r in record] == [backend.run_id]
        pids = [p["pid"] for p in record[0].services.values()]
        assert all(alive(pid) for pid in pids)
        environ = Path(f"/proc/{pids[1]}/environ").read_bytes().split(b"\0")
        assert f"FIRST_URL={stack.endpoints['first'].url}".encode() in environ
        assert stack.extra["timings"]["total"] > 0
    finally:
        backend.down()
    assert not any(alive(pid) for pid in pids)
    assert runs.load_runs() == []
    backend.down()  # idempotent


def test_a_failing_service_reports_its_log_and_nothing_survives(tmp_path: Path) -> None:
    spec = tiny_spec(
        tmp_path,
        ok={"command": [sys.executable, TINY, "--port", "0"], "health": {"http": "/"}},
        broken={"command": [sys.executable, TINY, "--exit", "3"]},
    )
    backend = LocalBackend(spec, log_dir=tmp_path / "logs")
    with pytest.raises(StackStartError) as excinfo:
        backend.up()
    message = str(excinfo.value)
    assert "broken" in message
    assert "exited with code 3" in message
    assert "tiny_service: exiting on purpose" in message
    assert runs.pids_with_run_id(backend.run_id) == []
    assert runs.load_runs() == []


def test_down_also_kills_what_left_the_process_group(tmp_path: Path) -> None:
    spec = tiny_spec(
        tmp_path,
        svc={"command": [sys.executable, TINY, "--port", "0", "--escape"], "health": {"tcp": True}},
    )
    backend = LocalBackend(spec, log_dir=tmp_path / "logs")
    backend.up()
    escaped = [
        pid
        for pid in runs.pids_with_run_id(backend.run_id)
        if os.getpgid(pid) != backend._running["svc"].process.pid
    ]
    assert escaped, "the service should have a grandchild in its own session"
    backend.down()
    assert runs.pids_with_run_id(backend.run_id) == []


def test_keep_up_leaves_the_stack_for_aistack_down(tmp_path: Path) -> None:
    spec = tiny_spec(tmp_path, svc={"command": [sys.executable, TINY, "--port", "0"]})
    backend = LocalBackend(spec, log_dir=tmp_path / "logs", keep_up=True)
    backend.up()
    backend.down()
    try:
        (record,) = runs.load_runs()
        assert record.kept
        assert runs.pids_with_run_id(backend.run_id)
        assert runs.reap_orphans() == []  # kept runs are not leftovers
    finally:
        backend.keep_up = False
        backend.down()
    assert runs.pids_with_run_id(backend.run_id) == []
    assert runs.load_runs() == []


def test_host_and_port_placeholders_are_loopback_and_the_local_port(tmp_path: Path) -> None:
    listen = ["--host", "${host}", "--port", "${port}"]
    spec = tiny_spec(
        tmp_path,
        announced={"command": [sys.executable, TINY, *listen], "health": {"http": "/"}},
        picked={
            "command": [sys.executable, TINY, *listen],
            "port": "pick",
            "health": {"tcp": True},
        },
    )
    backend = LocalBackend(spec, log_dir=tmp_path / "logs")
    stack = backend.up()
    try:
        argv = {
            name: Path(f"/proc/{running.process.pid}/cmdline").read_text().split("\0")[-5:-1]
            for name, running in backend._running.items()
        }
        # announce: port 0, the service binds a free one and reports it.
        assert argv["announced"] == ["--host", "127.0.0.1", "--port", "0"]
        picked_port = backend._running["picked"].port
        assert argv["picked"] == ["--host", "127.0.0.1", "--port", str(picked_port)]
        assert stack.endpoint("picked").url == f"http://127.0.0.1:{picked_port}"
        assert httpx.get(stack.endpoint("announced").url, timeout=5).status_code == 200
    finally:
        backend.down()
