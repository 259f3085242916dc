"""``aistack up`` / ``status`` / ``down`` on the real reference stack, as a user runs them."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx

from pytest_aistack.stack import runs

from .up_process import aistack, running_up


def find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in:\n{text}"
    return match.group(1)


def test_up_status_ctrl_c(tmp_path: Path) -> None:
    up_args = ["--report-dir", str(tmp_path / "results")]
    with running_up(up_args, tmp_path / "up.out") as (up, text):
        key_file = Path(find(r"full key in (\S+)\)", text))
        key = key_file.read_text()
        assert key not in text, "the gateway key must never be printed whole"
        assert key_file.stat().st_mode & 0o077 == 0
        gateway = find(r"gateway\s+(http://127\.0\.0\.1:\d+)", text)
        models = httpx.get(
            f"{gateway}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        assert models.status_code == 200
        profile = find(r"AISTACK_PROFILE=(\S+)", text)
        assert gateway in Path(profile).read_text()

        status = aistack("status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert re.search(r"gateway\s+http://\S+\s+up", status.stdout), status.stdout
        (record,) = runs.load_runs()

        up.send_signal(signal.SIGINT)  # Ctrl-C
        assert up.wait(timeout=30) == 0
    assert runs.pids_with_run_id(record.run_id, record.groups) == []
    assert aistack("status").returncode == 3


def test_down_stops_a_running_up(tmp_path: Path) -> None:
    with running_up(["--report-dir", str(tmp_path / "results")], tmp_path / "up.out") as (up, _):
        (record,) = runs.load_runs()
        down = aistack("down")
        assert down.returncode == 0, down.stderr
        assert f"stopped run {record.run_id}" in down.stdout
        assert up.wait(timeout=30) == 0
    assert runs.pids_with_run_id(record.run_id, record.groups) == []
    assert runs.load_runs() == []
