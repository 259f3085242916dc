"""Child processes the harness starts, owns and always stops.

A service the harness starts (mock LLM, embedded Toxiproxy, LiteLLM, redis) runs
in its own process group so that teardown reaches its children too. Its stdout
and stderr go to a log file (shown when something fails); a service written by
us announces readiness with one machine-readable line::

    AISTACK_READY {"service": "mock-llm", "url": "http://127.0.0.1:41234", ...}

Every wait here has a deadline; stopping is SIGTERM to the group, then SIGKILL
after ``grace`` seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pytest_aistack.runtime.waiting import WaitAborted, WaitTimeout, wait_until

READY_PREFIX = "AISTACK_READY "


class ProcessError(RuntimeError):
    """A managed process failed to start, exited early, or missed its deadline."""


def announce_ready(service: str, stream: IO[str] | None = None, **fields: Any) -> None:
    """Print the readiness line a parent waiting in :meth:`ManagedProcess.wait_ready` reads."""
    out = stream if stream is not None else sys.stdout
    out.write(READY_PREFIX + json.dumps({"service": service, **fields}) + "\n")
    out.flush()


class ManagedProcess:
    """One child process: started in a new session, logged to a file, stopped by group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._ready_fields: dict[str, Any] | None = None
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            # Own process group: teardown signals reach the service's children too,
            # and a Ctrl-C in the terminal does not hit it before we stop it in order.
            start_new_session=True,
        )
        self._reader = threading.Thread(
            target=self._pump_output, name=f"log-{self.name}", daemon=True
        )
        self._reader.start()

    def _pump_output(self) -> None:
        assert self._popen is not None
        assert self._popen.stdout is not None
        with self.log_path.open("ab") as log:
            for raw in self._popen.stdout:
                log.write(raw)
                log.flush()
                if not self._ready.is_set() and raw.startswith(READY_PREFIX.encode()):
                    with contextlib.suppress(ValueError):
                        self._ready_fields = json.loads(raw[len(READY_PREFIX) :])
                        self._ready.set()

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Wait for the ``AISTACK_READY`` line; fail fast if the process exits first."""
        try:
            # No pause between checks: Event.wait is the pause, and it returns the
            # moment the output pump reads the ready line.
            wait_until(
                lambda: self._ready.wait(timeout=0.05),
                timeout=timeout,
                what="its ready line",
                interval=0,
                give_up=self._exited,
            )
        except WaitAborted as exc:
            raise ProcessError(
                f"{self.name} {exc.reason} before it was ready; last output:\n{self.tail()}"
            ) from None
        except WaitTimeout:
            raise ProcessError(
                f"{self.name} was not ready within {timeout:.1f} s; last output:\n{self.tail()}"
            ) from None
        assert self._ready_fields is not None
        return self._ready_fields

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``check`` (for services that print no ready line, e.g. redis-server).

        Fails fast when the process exits, and at the deadline; ``what`` names the
        condition in the error ("port 6379 accepts connections").
        """
        try:
            wait_until(check, timeout=timeout, what=what, give_up=self._exited)
        except WaitAborted as exc:
            raise ProcessError(
                f"{self.name} {exc.reason} before {what}; last output:\n{self.tail()}"
            ) from None
        except WaitTimeout:
            raise ProcessError(
                f"{self.name}: not {what} within {timeout:.1f} s; last output:\n{self.tail()}"
            ) from None

    def _exited(self) -> str | None:
        """Why waiting on this process is pointless, if it is: it has exited."""
        code = self.poll()
        return None if code is None else f"exited with code {code}"

    def wait_exit(self, timeout: float) -> int:
        """Wait for a run-to-completion child (e.g. a headless locust) to exit."""
        if self._popen is None:
            raise ProcessError(f"{self.name} was never started")
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProcessError(
                f"{self.name} did not exit within {timeout:.1f} s; last output:\n{self.tail()}"
            ) from None

    def poll(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` s; return the exit code."""
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            _signal_group(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait(timeout=grace)
        # Children that ignored SIGTERM while the leader exited still belong to the group.
        _signal_group(popen.pid, signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(timeout=grace)
        if popen.stdout is not None and (self._reader is None or not self._reader.is_alive()):
            popen.stdout.close()  # else a ResourceWarning at garbage collection
        return popen.returncode

    def __enter__(self) -> ManagedProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
