"""ManagedProcess: readiness line, early exit, deadline, stopping the whole process group."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from pytest_aistack.runtime.process import ManagedProcess, ProcessError
from pytest_aistack.runtime.waiting import wait_until


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_ready_line_fields_and_log(tmp_path: Path) -> None:
    code = """
        import sys, time
        from pytest_aistack.runtime.process import announce_ready
        print("starting up", flush=True)
        announce_ready("demo", url="http://127.0.0.1:1", workers=2)
        time.sleep(60)  # ok: the child idles until the test stops it
    """
    with ManagedProcess("demo", _python(code), log_path=tmp_path / "demo.log") as process:
        fields = process.wait_ready(timeout=30)
        assert fields == {"service": "demo", "url": "http://127.0.0.1:1", "workers": 2}
        assert process.poll() is None
    assert process.poll() is not None
    assert "starting up" in (tmp_path / "demo.log").read_text()
    assert process.tail().splitlines()[0] == "starting up"


def test_early_exit_fails_fast_with_output(tmp_path: Path) -> None:
    code = """
        import sys
        print("bad config: port missing", flush=True)
        sys.exit(3)
    """
    process = ManagedProcess("broken", _python(code), log_path=tmp_path / "b.log")
    process.start()
    try:
        started = time.monotonic()
        with pytest.raises(ProcessError, match="broken exited with code 3 before it was ready"):
            process.wait_ready(timeout=60)
        assert time.monotonic() - started < 30  # did not wait for the deadline
        # The log pump may lag the exit by a moment; the error message had the tail.
        wait_until(
            lambda: "bad config: port missing" in process.tail(),
            timeout=10,
            what="the child's error in its log",
        )
    finally:
        process.stop()


def test_deadline_without_ready_line(tmp_path: Path) -> None:
    process = ManagedProcess(
        "silent", _python("import time; time.sleep(60)"), log_path=tmp_path / "s.log"
    )
    process.start()
    try:
        started = time.monotonic()
        with pytest.raises(ProcessError, match=r"silent was not ready within 0.5 s"):
            process.wait_ready(timeout=0.5)
        assert 0.5 <= time.monotonic() - started < 10
    finally:
        process.stop()


def test_stop_reaches_grandchildren(tmp_path: Path) -> None:
    code = """
        import subprocess, sys, time
        from pytest_aistack.runtime.process import announce_ready
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        announce_ready("parent", child_pid=child.pid)
        time.sleep(60)  # ok: the child idles until the test stops it
    """
    process = ManagedProcess("parent", _python(code), log_path=tmp_path / "p.log")
    process.start()
    try:
        grandchild = process.wait_ready(timeout=30)["child_pid"]
        assert not _gone(grandchild)
    finally:
        process.stop(grace=5)
    assert process.pid is not None
    pid = process.pid
    wait_until(lambda: _gone(pid), timeout=10, what=f"the stopped process {pid} to be gone")
    wait_until(lambda: _gone(grandchild), timeout=10, what="the grandchild to be gone after stop()")


def test_sigterm_ignored_then_sigkill(tmp_path: Path) -> None:
    code = """
        import signal, time
        from pytest_aistack.runtime.process import announce_ready
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        announce_ready("stubborn")
        time.sleep(60)  # ok: the child idles until the test stops it
    """
    process = ManagedProcess("stubborn", _python(code), log_path=tmp_path / "t.log")
    process.start()
    process.wait_ready(timeout=30)
    started = time.monotonic()
    assert process.stop(grace=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 10


def test_sigterm_honoured(tmp_path: Path) -> None:
    code = """
        import time
        from pytest_aistack.runtime.process import announce_ready
        announce_ready("polite")
        time.sleep(60)  # ok: the child idles until the test stops it
    """
    process = ManagedProcess("polite", _python(code), log_path=tmp_path / "t.log")
    process.start()
    process.wait_ready(timeout=30)
    assert process.stop(grace=10) == -signal.SIGTERM


def test_wait_until_polls_a_condition(tmp_path: Path) -> None:
    marker = tmp_path / "ready.flag"
    code = f"""
        import pathlib, time
        time.sleep(0.3)  # ok: the child becomes ready late on purpose
        pathlib.Path({str(marker)!r}).write_text("x")
        time.sleep(60)  # ok: the child idles until the test stops it
    """
    with ManagedProcess("flagger", _python(code), log_path=tmp_path / "f.log") as process:
        process.wait_until(marker.exists, timeout=30, what="flag file written")
        assert marker.exists()


def test_wait_until_fails_fast_on_exit(tmp_path: Path) -> None:
    process = ManagedProcess(
        "quitter", _python("import sys; sys.exit(5)"), log_path=tmp_path / "q.log"
    )
    process.start()
    try:
        with pytest.raises(ProcessError, match="quitter exited with code 5 before port open"):
            process.wait_until(lambda: False, timeout=60, what="port open")
    finally:
        process.stop()


def test_wait_until_deadline(tmp_path: Path) -> None:
    with (
        ManagedProcess(
            "idle", _python("import time; time.sleep(60)"), log_path=tmp_path / "i.log"
        ) as process,
        pytest.raises(ProcessError, match=r"idle: not port open within 0.3 s"),
    ):
        process.wait_until(lambda: False, timeout=0.3, what="port open")


def test_own_process_group(tmp_path: Path) -> None:
    with ManagedProcess(
        "grouped", _python("import time; time.sleep(60)"), log_path=tmp_path / "g.log"
    ) as process:
        assert process.pid is not None
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)


def test_stop_before_start_is_a_no_op(tmp_path: Path) -> None:
    assert ManagedProcess("never", ["true"], log_path=tmp_path / "n.log").stop() is None
