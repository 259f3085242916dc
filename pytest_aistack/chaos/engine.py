"""Which Toxiproxy the harness talks to, and starting it.

``chaos_engine`` (setting ``--aistack-chaos-engine`` / ``AISTACK_CHAOS_ENGINE``):

- ``auto`` (default): a ``toxiproxy-server`` binary when one is configured
  (``toxiproxy_bin`` / ``AISTACK_TOXIPROXY_BIN``) or found on PATH, else the embedded one;
- ``embedded``: the Python server in :mod:`pytest_aistack.chaos.toxiproxy`, in-process;
- ``binary``: ``toxiproxy-server``, started as a child process (an error if there is none);
- ``docker``: the official image, run by the docker stack backend as part of the stack;
  it cannot be started alone here. A conftest hands it out by overriding
  ``aistack_toxiproxy`` with a client to ``AIStack.toxiproxy_url`` (scenarios/conftest.py).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import httpx

from pytest_aistack.errors import ChaosError
from pytest_aistack.runtime.waiting import WaitAborted, WaitTimeout, wait_until

EngineKind = Literal["embedded", "binary", "docker"]
BINARY_NAME = "toxiproxy-server"
BINARY_START_TIMEOUT = 15.0


class EngineSettings(Protocol):
    """The two settings this module reads (pytest_aistack.settings.Settings has them)."""

    @property
    def chaos_engine(self) -> str: ...

    @property
    def toxiproxy_bin(self) -> str | None: ...


class EngineError(ChaosError, RuntimeError):
    """The configured chaos engine cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class EngineChoice:
    kind: EngineKind
    binary: str | None
    reason: str

    def describe(self) -> str:
        where = f" {self.binary}" if self.binary else ""
        return f"{self.kind}{where} ({self.reason})"


def _find_binary(configured: str | None) -> str | None:
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise EngineError(
                f"toxiproxy_bin={configured!r} (AISTACK_TOXIPROXY_BIN or "
                "--aistack-toxiproxy-bin) is not an executable file; point it at a "
                "toxiproxy-server binary or unset it to use the embedded Toxiproxy"
            )
        return found
    return shutil.which(BINARY_NAME)


def choose_engine(settings: EngineSettings) -> EngineChoice:
    """The engine ``settings`` selects; raises :class:`EngineError` when it is unusable."""
    engine = settings.chaos_engine
    if engine == "embedded":
        return EngineChoice("embedded", None, "chaos_engine=embedded")
    if engine == "docker":
        return EngineChoice("docker", None, "chaos_engine=docker: the stack's container")
    if engine == "binary":
        binary = _find_binary(settings.toxiproxy_bin)
        if binary is None:
            raise EngineError(
                "chaos_engine=binary but no toxiproxy-server was found on PATH; install "
                "it, set AISTACK_TOXIPROXY_BIN=/path/to/toxiproxy-server, or use "
                "--aistack-chaos-engine=embedded"
            )
        return EngineChoice("binary", binary, "chaos_engine=binary")
    if engine == "auto":
        binary = _find_binary(settings.toxiproxy_bin)
        if binary is not None:
            source = "toxiproxy_bin" if settings.toxiproxy_bin else "found on PATH"
            return EngineChoice("binary", binary, f"auto: {source}")
        return EngineChoice("embedded", None, "auto: no toxiproxy-server on PATH")
    raise EngineError(
        f"chaos_engine={engine!r} is not one of auto, embedded, binary, docker; "
        "fix --aistack-chaos-engine / AISTACK_CHAOS_ENGINE"
    )


def describe_engine_choice(settings: EngineSettings) -> str:
    """One line for the pytest report header and ``aistack doctor``; never raises."""
    try:
        return f"chaos engine: {choose_engine(settings).describe()}"
    except EngineError as exc:
        return f"chaos engine: unusable: {exc}"


def describe_chaos_engine(settings: EngineSettings) -> str:
    """:func:`describe_engine_choice`, for the report header and ``aistack doctor``,
    whatever goes wrong: neither may break because the engine cannot be described."""
    try:
        return describe_engine_choice(settings)
    except Exception as exc:
        return f"could not determine ({type(exc).__name__}: {exc})"


class RunningToxiproxy(Protocol):
    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


class _BinaryToxiproxy:
    """toxiproxy-server as a managed child process."""

    def __init__(self, binary: str, log_path: Path) -> None:
        from pytest_aistack.runtime.process import ManagedProcess

        # toxiproxy-server cannot announce the port it bound, so one is picked here;
        # the short race with other processes is the documented cost (docs/decisions.md).
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._process = ManagedProcess(
            "toxiproxy-server",
            [binary, "-host", "127.0.0.1", "-port", str(port), "-proxy-metrics"],
            log_path=log_path,
        )

    def start(self) -> None:
        self._process.start()
        try:
            _wait_for_api(self.url, BINARY_START_TIMEOUT, self._process.poll)
        except BaseException:
            self._process.stop()
            raise

    def stop(self) -> None:
        self._process.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_api(url: str, timeout: float, poll: Callable[[], int | None]) -> None:
    def answers() -> bool:
        httpx.get(f"{url}/version", timeout=1.0).raise_for_status()
        return True

    def exited() -> str | None:
        code = poll()
        return None if code is None else f"toxiproxy-server exited with code {code}"

    try:
        wait_until(
            answers,
            timeout=timeout,
            what=f"toxiproxy-server at {url} to answer",
            interval=0.05,
            give_up=exited,
            retry_on=(httpx.TransportError, httpx.HTTPStatusError),
        )
    except WaitAborted as exc:
        raise EngineError(f"{exc.reason} before answering") from None
    except WaitTimeout as exc:
        raise EngineError(
            f"toxiproxy-server at {url} did not answer within {timeout} s: "
            f"{exc.last or 'no answer yet'}"
        ) from None


def start_toxiproxy(settings: EngineSettings, *, log_dir: Path) -> RunningToxiproxy:
    """Start the Toxiproxy ``settings`` selects; the caller must ``stop()`` it."""
    choice = choose_engine(settings)
    if choice.kind == "embedded":
        from .toxiproxy import EmbeddedToxiproxy

        embedded = EmbeddedToxiproxy()
        embedded.start()
        return embedded
    if choice.kind == "binary":
        assert choice.binary is not None
        binary = _BinaryToxiproxy(choice.binary, log_dir / "toxiproxy-server.log")
        binary.start()
        return binary
    raise EngineError(
        "chaos_engine=docker: Toxiproxy runs as a container of the docker stack backend "
        "(--aistack-backend=docker); override the aistack_toxiproxy fixture with a "
        "ToxiproxyClient(aistack_stack.toxiproxy_url) as scenarios/conftest.py does, or "
        "without that stack use --aistack-chaos-engine=embedded or binary"
    )
