"""pytest fixture ``run_locust``: run a locustfile headless in a subprocess, parse its result.

Locust monkey-patches the process with gevent, so it never runs inside pytest:
the fixture starts ``python -m locust`` as a managed child (own process group,
log file, deadline, always stopped) and reads the JSON result it wrote::

    @pytest.mark.load
    def test_burst_meets_slos(run_locust, aistack_stack):
        run = run_locust(
            "locustfiles/burst.py",
            host=aistack_stack.gateway_url,
            env={"AISTACK_API_KEY": aistack_stack.stack.gateway_key.value},
            args=["--llm-model", aistack_stack.profile.primary_group],
            slo="ttft_p99_ms<=800, error_rate<=0.01",
        )
        assert run.exit_code == 0, run.output
        assert run.result.outcomes["ok"] == run.result.requests
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_aistack.load.results import LoadResult


@dataclass(frozen=True)
class LocustRun:
    """A finished locust run: exit code, its output and the parsed result file."""

    exit_code: int
    output: str
    result_path: Path
    command: list[str] = field(default_factory=list)

    @property
    def result(self) -> LoadResult:
        from pytest_aistack.load.results import ResultFileError, read_result

        try:
            return read_result(self.result_path)
        except ResultFileError as exc:
            raise AssertionError(
                f"{exc}\nlocust exited with {self.exit_code}; command: {' '.join(self.command)}"
                f"\n--- locust output (tail) ---\n{self.output[-4000:]}"
            ) from None


RunLocust = Callable[..., LocustRun]


@pytest.fixture
def run_locust(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunLocust]:
    """``run_locust(locustfile, host=..., *, users, spawn_rate, run_time, processes, slo,
    args, env, timeout)`` -> :class:`LocustRun`."""
    from pytest_aistack.runtime.process import ManagedProcess

    started: list[ManagedProcess] = []

    def run(
        locustfile: str | os.PathLike[str],
        *,
        host: str,
        users: int | None = None,
        spawn_rate: float | None = None,
        run_time: str | None = None,
        processes: int | None = None,
        slo: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        timeout: float = 150.0,
        name: str = "run",
    ) -> LocustRun:
        directory = tmp_path_factory.mktemp("locust")
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--headless",
            "--host",
            host,
            "--llm-results",
            str(directory),
            "--llm-results-name",
            name,
            "--only-summary",
        ]
        for flag, value in (
            ("--users", users),
            ("--spawn-rate", spawn_rate),
            ("--run-time", run_time),
            ("--processes", processes),
            ("--slo", slo),
        ):
            if value is not None:
                command += [flag, str(value)]
        command += list(args)
        process = ManagedProcess(
            "locust",
            command,
            log_path=directory / "locust.log",
            env={**os.environ, **(env or {})},
        )
        started.append(process)
        process.start()
        try:
            code = process.wait_exit(timeout)
        finally:
            process.stop()
        output = (directory / "locust.log").read_text(errors="replace")
        return LocustRun(code, output, directory / f"{name}.json", command)

    try:
        yield run
    finally:
        for process in started:
            process.stop()
