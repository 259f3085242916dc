"""Faults on a Toxiproxy proxy, as context managers (sync and async) that always clean up.

::

    from pytest_aistack.chaos.faults import Chaos

    chaos = Chaos(client)                       # or the ``chaos`` pytest fixture
    with chaos.latency("vllm-a", ms=300):       # removed on exit, also when the body raises
        ...
    async with chaos.down("redis"):
        ...

Each fault maps to upstream toxics (toxiproxy ``toxics/*.go``) or to ``enabled: false``:

============================  =========================================================
``down(proxy)``               proxy disabled: listener closed, open connections closed
``latency(proxy, ms, ...)``   ``latency`` toxic, ``jitter_ms`` spread
``blackhole(proxy)``          ``timeout`` toxic with timeout 0: data vanishes, nothing closes
``timeout(proxy, ms)``        ``timeout`` toxic: data vanishes, connection closed after ``ms``
``reset_peer(proxy, ...)``    ``reset_peer``: RST ``after_ms`` after the first data
``cut_after_bytes(proxy, n)`` ``limit_data``: the connection ends after ``n`` bytes
``bandwidth(proxy, kb_s)``    ``bandwidth``: rate limit in KB/s
``slice(proxy, ...)``         ``slicer``: data in small pieces, ``delay_us`` apart
``slow_close(proxy, ms)``     ``slow_close``: the close is held back ``ms``
``flaky(proxy, toxicity)``    ``reset_peer`` at once on a ``toxicity`` share of connections
============================  =========================================================

A fault also knows whether traffic went through it (:meth:`Fault.exercised`), from the
embedded server's ``aistack_toxic_connections_total`` counter; the ``chaos`` fixture
reports faults a test never exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

from .client import NotFound, ProxyInfo, Stream, ToxiproxyClient, ToxiproxyError

ProxyRef = str | ProxyInfo
_COUNTER = re.compile(
    r'^aistack_toxic_connections_total\{proxy="((?:[^"\\]|\\.)*)",toxic="((?:[^"\\]|\\.)*)"\}'
    r"\s+(\d+)",
    re.MULTILINE,
)
_names = itertools.count(1)


def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def toxic_connection_counts(client: ToxiproxyClient) -> dict[tuple[str, str], int] | None:
    """Connections that carried data through each toxic, or None if the server cannot tell.

    Only the embedded server exports these counters (an extension to Toxiproxy).
    """
    try:
        text = client.metrics()
    except ToxiproxyError:
        return None
    if "aistack_toxic_connections_total" not in text:
        return None
    return {
        (_unescape(proxy), _unescape(toxic)): int(count)
        for proxy, toxic, count in _COUNTER.findall(text)
    }


@dataclass(frozen=True)
class _ToxicSpec:
    type: str
    attributes: Mapping[str, int]
    stream: Stream
    toxicity: float = 1.0


class Fault:
    """One fault on one proxy. Apply with ``with``/``async with``, or ``apply()``/``remove()``."""

    def __init__(
        self,
        client: ToxiproxyClient,
        proxy: ProxyRef,
        label: str,
        toxic: _ToxicSpec | None,
    ) -> None:
        self.client = client
        self.proxy = proxy.name if isinstance(proxy, ProxyInfo) else proxy
        self.label = label
        self._toxic = toxic
        self.toxic_name: str | None = (
            f"aistack_{toxic.type}_{toxic.stream}_{next(_names)}" if toxic is not None else None
        )
        self.active = False
        self.applied = False
        self._baseline: int | None = None
        self._carried: int | None = None

    @property
    def description(self) -> str:
        return f'{self.label} on proxy "{self.proxy}"'

    def __repr__(self) -> str:
        return f"<Fault {self.description}{' (active)' if self.active else ''}>"

    # -- lifecycle -------------------------------------------------------------------
    def apply(self) -> Fault:
        if self.active:
            raise RuntimeError(f"{self.description} is already applied")
        if self._toxic is None:
            self.client.disable(self.proxy)
        else:
            assert self.toxic_name is not None
            counts = toxic_connection_counts(self.client)
            self._baseline = (
                counts.get((self.proxy, self.toxic_name), 0) if counts is not None else None
            )
            self.client.add_toxic(
                self.proxy,
                self._toxic.type,
                self._toxic.attributes,
                name=self.toxic_name,
                stream=self._toxic.stream,
                toxicity=self._toxic.toxicity,
            )
        self.active = True
        self.applied = True
        return self

    def remove(self) -> None:
        """Undo the fault; a proxy or toxic already gone (deleted, reset) is fine."""
        if not self.active:
            return
        self.active = False
        if self._toxic is None:
            with contextlib.suppress(NotFound):
                self.client.enable(self.proxy)
            return
        self._record_carried()
        assert self.toxic_name is not None
        with contextlib.suppress(NotFound):
            self.client.remove_toxic(self.proxy, self.toxic_name)

    def _record_carried(self) -> None:
        if self._baseline is None or self.toxic_name is None:
            return
        counts = toxic_connection_counts(self.client)
        if counts is not None:
            self._carried = counts.get((self.proxy, self.toxic_name), 0) - self._baseline

    def exercised(self) -> bool | None:
        """Whether any connection carried data through the fault; None when unknowable.

        ``down`` cannot be observed (a refused connection never reaches the server), and a
        toxiproxy-server does not export per-toxic counters.
        """
        if self._toxic is None or self._baseline is None:
            return None
        if self.active:
            self._record_carried()
        if self._carried is None:
            return None
        return self._carried > 0

    # -- context managers ------------------------------------------------------------
    def __enter__(self) -> Fault:
        return self.apply()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    async def __aenter__(self) -> Fault:
        # The client is synchronous; its calls run on a worker thread, off the event loop.
        return await asyncio.to_thread(self.apply)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.remove)


def _check_non_negative(name: str, value: float) -> None:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


class Chaos:
    """Creates faults on one Toxiproxy and remembers them (the ``chaos`` fixture)."""

    def __init__(self, client: ToxiproxyClient) -> None:
        self.client = client
        self.faults: list[Fault] = []

    def _fault(self, proxy: ProxyRef, label: str, toxic: _ToxicSpec | None) -> Fault:
        fault = Fault(self.client, proxy, label, toxic)
        self.faults.append(fault)
        return fault

    def down(self, proxy: ProxyRef) -> Fault:
        return self._fault(proxy, "down", None)

    def latency(
        self,
        proxy: ProxyRef,
        ms: int,
        jitter_ms: int = 0,
        stream: Stream = "downstream",
    ) -> Fault:
        _check_non_negative("ms", ms)
        _check_non_negative("jitter_ms", jitter_ms)
        spec = _ToxicSpec("latency", {"latency": ms, "jitter": jitter_ms}, stream)
        return self._fault(proxy, "latency", spec)

    def blackhole(self, proxy: ProxyRef, stream: Stream = "downstream") -> Fault:
        return self._fault(proxy, "blackhole", _ToxicSpec("timeout", {"timeout": 0}, stream))

    def timeout(self, proxy: ProxyRef, ms: int, stream: Stream = "downstream") -> Fault:
        _check_non_negative("ms", ms)
        return self._fault(proxy, "timeout", _ToxicSpec("timeout", {"timeout": ms}, stream))

    def reset_peer(
        self, proxy: ProxyRef, after_ms: int = 0, stream: Stream = "downstream"
    ) -> Fault:
        _check_non_negative("after_ms", after_ms)
        spec = _ToxicSpec("reset_peer", {"timeout": after_ms}, stream)
        return self._fault(proxy, "reset_peer", spec)

    def cut_after_bytes(self, proxy: ProxyRef, n: int, stream: Stream = "downstream") -> Fault:
        _check_non_negative("n", n)
        spec = _ToxicSpec("limit_data", {"bytes": n}, stream)
        return self._fault(proxy, "cut_after_bytes", spec)

    def bandwidth(self, proxy: ProxyRef, kb_s: int, stream: Stream = "downstream") -> Fault:
        if kb_s <= 0:
            raise ValueError(
                f"kb_s must be > 0 (Toxiproxy treats 0 as no data at all), got {kb_s!r}"
            )
        return self._fault(proxy, "bandwidth", _ToxicSpec("bandwidth", {"rate": kb_s}, stream))

    def slice(
        self,
        proxy: ProxyRef,
        average_size: int,
        size_variation: int = 0,
        delay_us: int = 0,
        stream: Stream = "downstream",
    ) -> Fault:
        if average_size <= 0:
            raise ValueError(f"average_size must be > 0, got {average_size!r}")
        if not 0 <= size_variation < average_size:
            raise ValueError(
                f"size_variation must be >= 0 and < average_size ({average_size}), "
                f"got {size_variation!r}"
            )
        _check_non_negative("delay_us", delay_us)
        attributes = {
            "average_size": average_size,
            "size_variation": size_variation,
            "delay": delay_us,
        }
        return self._fault(proxy, "slice", _ToxicSpec("slicer", attributes, stream))

    def slow_close(self, proxy: ProxyRef, ms: int, stream: Stream = "downstream") -> Fault:
        _check_non_negative("ms", ms)
        return self._fault(proxy, "slow_close", _ToxicSpec("slow_close", {"delay": ms}, stream))

    def flaky(
        self,
        proxy: ProxyRef,
        toxicity: float,
        stream: Stream = "downstream",
    ) -> Fault:
        """Reset a share ``toxicity`` (0..1) of connections at their first data."""
        if not 0.0 <= toxicity <= 1.0:
            raise ValueError(f"toxicity must be between 0 and 1, got {toxicity!r}")
        spec = _ToxicSpec("reset_peer", {"timeout": 0}, stream, toxicity)
        return self._fault(proxy, f"flaky({toxicity:g})", spec)

    def remove_all(self) -> None:
        for fault in self.faults:
            fault.remove()


def unexercised(faults: list[Fault]) -> list[Fault]:
    """Faults that were applied and are known to have carried no connection."""
    return [fault for fault in faults if fault.applied and fault.exercised() is False]
