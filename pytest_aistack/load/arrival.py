"""Arrival processes: when each request should start.

Closed loop (``closed``): a user sends its next request when the previous one ends,
so a slow server slows the load down — and hides its own slowness (coordinated
omission). Open loop (``constant``, ``poisson``, ``gamma``): request ``i`` is due at
``start + sum(intervals[:i])`` whatever happened to earlier requests; the record
keeps that scheduled start, and latency from it (scheduled latency) shows queueing
the closed loop would hide.

``gamma`` follows vLLM's serving benchmark (benchmarks/benchmark_serving.py,
``get_request``): intervals ~ Gamma(shape=burstiness, scale=1/(rate*burstiness)),
so the mean rate is ``rate`` and burstiness < 1 is burstier than Poisson, > 1 more
regular; burstiness 1 is Poisson.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pytest_aistack.errors import LoadError

ARRIVAL_KINDS = ("closed", "constant", "poisson", "gamma")


class ArrivalError(LoadError):
    pass


@dataclass(frozen=True, slots=True)
class Arrival:
    kind: str
    rate: float = 0.0  # requests per second, per user (open loop)
    burstiness: float = 1.0

    @property
    def open_loop(self) -> bool:
        return self.kind != "closed"

    def intervals(self, seed: int | None) -> IntervalStream:
        return IntervalStream(self, random.Random(seed))


class IntervalStream:
    __slots__ = ("_arrival", "_rng")

    def __init__(self, arrival: Arrival, rng: random.Random) -> None:
        self._arrival = arrival
        self._rng = rng

    def next(self) -> float:
        arrival = self._arrival
        if arrival.kind == "constant":
            return 1.0 / arrival.rate
        if arrival.kind == "poisson":
            return self._rng.expovariate(arrival.rate)
        if arrival.kind == "gamma":
            theta = 1.0 / (arrival.rate * arrival.burstiness)
            return self._rng.gammavariate(arrival.burstiness, theta)
        raise ArrivalError(f"closed-loop arrival has no intervals ({arrival!r})")


def parse_arrival(kind: str, rate: float, burstiness: float = 1.0) -> Arrival:
    """Validate user input (``--llm-arrival``, ``--llm-rate``, ``--llm-burstiness``)."""
    if kind not in ARRIVAL_KINDS:
        raise ArrivalError(
            f"--llm-arrival {kind!r}: unknown arrival process; "
            f"use one of {', '.join(ARRIVAL_KINDS)}"
        )
    if kind == "closed":
        return Arrival("closed")
    if not rate > 0:
        raise ArrivalError(
            f"--llm-arrival {kind} needs --llm-rate > 0 (requests per second per user), got {rate}"
        )
    if kind == "gamma" and not burstiness > 0:
        raise ArrivalError(f"--llm-burstiness must be > 0 for gamma arrivals, got {burstiness}")
    return Arrival(kind, rate, burstiness if kind == "gamma" else 1.0)
