"""Headless Chromium for the HTML report's tests: find it, screenshot a page, read its console.

Chromium runs as a managed child (own process group, log file, deadline, stopped
in ``finally``), with every background feature that would reach the network off
and a throw-away profile, so a run touches nothing outside its temp directory.
``--enable-logging=stderr --v=0`` makes Chromium log each console message (and
each uncaught exception) as an ``INFO:CONSOLE`` line; the tests read them there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pytest_aistack.runtime.process import ManagedProcess

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ENV_VAR = "AISTACK_CHROMIUM"
DEADLINE_S = 90.0
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root in a container there is no user namespace for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
_CONSOLE = re.compile(r"INFO:CONSOLE[^\]]*\] (?P<message>.*)$")


def find_chromium() -> tuple[str | None, str]:
    """(executable, "") or (None, why not: what was looked for and how to get it)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        if shutil.which(configured) is None:
            return None, f"{ENV_VAR}={configured} is not an executable"
        return configured, ""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path is not None:
            return path, ""
    return None, (
        f"no Chromium: none of {', '.join(CANDIDATES)} is on PATH and {ENV_VAR} is unset; "
        "install it (apt-get install chromium; `make unit` does this when run as root)"
    )


def chromium_version(executable: str) -> str:
    done = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    return (done.stdout or done.stderr).strip()


@dataclass(frozen=True)
class PageRun:
    exit_code: int
    log: str

    @property
    def console(self) -> list[str]:
        """Every console message and uncaught exception the page produced."""
        return [m["message"] for line in self.log.splitlines() if (m := _CONSOLE.search(line))]


def run_chromium(
    executable: str, page: Path, workdir: Path, *extra: str, name: str = "chromium"
) -> PageRun:
    log = workdir / f"{name}.log"
    process = ManagedProcess(
        name,
        [executable, *FLAGS, f"--user-data-dir={workdir / (name + '-profile')}", *extra,
         page.resolve().as_uri()],
        log_path=log,
    )  # fmt: skip
    process.start()
    try:
        code = process.wait_exit(DEADLINE_S)
    finally:
        process.stop()
    return PageRun(code, log.read_text(errors="replace"))


def screenshot(
    executable: str, page: Path, png: Path, *, width: int, height: int, name: str = "shot"
) -> PageRun:
    return run_chromium(
        executable,
        page,
        png.parent,
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        name=name,
    )
