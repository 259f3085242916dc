"""``aistack up`` as a user runs it in a terminal, for the CLI tests: the child process,
its output, and ``aistack`` subcommands beside it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_aistack.runtime.waiting import WaitTimeout, wait_until

UP_DEADLINE_S = 90.0
AISTACK = [sys.executable, "-m", "pytest_aistack.cli"]


def aistack(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run one ``aistack`` subcommand to completion (bounded)."""
    return subprocess.run(
        [*AISTACK, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


@contextmanager
def running_up(
    args: list[str], out_path: Path, *, cwd: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start ``aistack up ARGS``; yield it and its output once it says the stack is up.

    "Ctrl-C" ends the banner ``aistack up`` prints when every service is healthy. On
    leaving, a child still running is killed (the test stops it on purpose first).
    """
    with out_path.open("w") as out:
        up = subprocess.Popen(
            [*AISTACK, "up", *args], stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )
    try:
        try:
            wait_until(
                lambda: "Ctrl-C" in out_path.read_text(),
                timeout=UP_DEADLINE_S,
                what="aistack up to report the stack up",
                give_up=lambda: (
                    None
                    if up.poll() is None
                    else f"aistack up exited with {up.returncode}:\n{out_path.read_text()}"
                ),
            )
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}; its output:\n{out_path.read_text()}") from None
        text = out_path.read_text()
        assert up.poll() is None, text
        yield up, text
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(timeout=10)
