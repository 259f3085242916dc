"""After ``kill -9`` of a pytest run mid-scenario, the next run starts clean.

The killed run's services live in their own sessions, so they outlive pytest; the next
start finds the run record whose owner is gone and kills every process carrying that
run id. Uses the real reference stack (LiteLLM included), as a user's run would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from pytest_aistack.runtime.waiting import WaitAborted, WaitTimeout, wait_until
from pytest_aistack.stack import runs
from pytest_aistack.stack.factory import REFERENCE_SPEC
from pytest_aistack.stack.local import LocalBackend
from pytest_aistack.stack.spec import load_stack_spec

UP_DEADLINE_S = 90.0

HOLDING_TEST = textwrap.dedent(
    """
    import os, time
    from pathlib import Path

    def test_scenario_in_progress(aistack_stack):
        Path(os.environ["HOLD_FILE"]).write_text(aistack_stack.stack.extra["run_id"])
        time.sleep(300)  # ok: a long scenario; the parent kills this pytest with SIGKILL
    """
)


def test_kill_9_mid_scenario_then_next_run_starts_clean(tmp_path: Path) -> None:
    (tmp_path / "test_hold.py").write_text(HOLDING_TEST)
    hold_file = tmp_path / "run_id"
    env = {**os.environ, "HOLD_FILE": str(hold_file)}
    argv = [sys.executable, "-m", "pytest", "test_hold.py", "-q", "-p", "no:cacheprovider"]
    argv += [f"--aistack-report-dir={tmp_path / 'results'}"]
    log = (tmp_path / "pytest.log").open("wb")
    child = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until(
                hold_file.exists,
                timeout=UP_DEADLINE_S,
                what="the child pytest's stack to be up",
                give_up=lambda: None if child.poll() is None else "the child pytest exited",
            )
        except (WaitTimeout, WaitAborted) as exc:
            log_tail = (tmp_path / "pytest.log").read_text()[-3000:]
            raise AssertionError(f"{exc}:\n{log_tail}") from None
        old_run = hold_file.read_text()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        log.close()
    (old_record,) = runs.load_runs()
    assert old_record.run_id == old_run
    old_groups = old_record.groups
    assert len(old_groups) == len(load_stack_spec(REFERENCE_SPEC).services)
    survivors = runs.pids_with_run_id(old_run, old_groups)
    # Every service outlived pytest, redis-server included (whose environ no longer
    # shows the run id: it is found through its recorded process group).
    assert set(old_groups) <= set(survivors)

    backend = LocalBackend(load_stack_spec(REFERENCE_SPEC), log_dir=tmp_path / "next")
    try:
        stack = backend.up()
        assert runs.pids_with_run_id(old_run, old_groups) == []
        assert [r.run_id for r in runs.load_runs()] == [backend.run_id]
        ready = httpx.get(f"{stack.gateway_url}/health/readiness", timeout=5)
        assert ready.status_code == 200
    finally:
        backend.down()
        runs.kill_run(old_run, old_groups)  # only matters if an assertion above failed
    assert runs.pids_with_run_id(backend.run_id) == []
