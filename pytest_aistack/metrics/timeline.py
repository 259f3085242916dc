"""Timeline: a run's per-second buckets (requests, outcomes, tokens, latency, users).

The "over time" view of a run, for plots: throughput and latency each second with
the load shape beside them. Each bucket is keyed by the wall-clock second in which
requests *ended* (as Locust's own stats history does), so buckets from processes on
different machines line up, and two timelines merge exactly by adding the buckets
of the same second (users: the larger count, since the master samples the total).

Latency per second is kept in a coarse log histogram (8 buckets per power of two:
a percentile is within 1/16 = 6.25 % of the truth) — enough to draw p50/p99 over
time, small enough for hours of run. The exact percentiles of the whole run stay in the
full histograms (:mod:`.histogram`).
"""

from __future__ import annotations

import math
from typing import Any

from .definitions import e2e_ns, ttft_ns
from .record import Outcome, RequestRecord

_SUB_BITS = 3  # 2**3 = 8 coarse buckets per power of two
TIMELINE_RELATIVE_ERROR = 1.0 / (1 << (_SUB_BITS + 1))  # half a bucket: 1/16
TIMELINE_METRICS = ("ttft", "e2e")
_NS_PER_S = 1_000_000_000


def coarse_index(value: int) -> int:
    shift = value.bit_length() - (_SUB_BITS + 1)
    if shift <= 0:
        return value
    return (shift << _SUB_BITS) + (value >> shift)


def coarse_bounds(index: int) -> tuple[int, int]:
    shift = (index >> _SUB_BITS) - 1
    if shift <= 0:
        return index, index + 1
    mantissa = index - (shift << _SUB_BITS)
    return mantissa << shift, (mantissa + 1) << shift


class CoarseHistogram:
    __slots__ = ("counts", "max")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.max = 0

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def record(self, value: int) -> None:
        index = coarse_index(value)
        self.counts[index] = self.counts.get(index, 0) + 1
        if value > self.max:
            self.max = value

    def merge(self, other: CoarseHistogram) -> None:
        for index, n in other.counts.items():
            self.counts[index] = self.counts.get(index, 0) + n
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile (bucket midpoint, at most the max); NaN when empty."""
        total = self.count
        if total == 0:
            return math.nan
        rank = max(1, math.ceil(q / 100 * total))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                low, high = coarse_bounds(index)
                return float(min((low + high - 1) / 2, self.max))
        return float(self.max)

    def to_list(self) -> list[Any]:
        return [self.max, [[i, self.counts[i]] for i in sorted(self.counts)]]

    @classmethod
    def from_list(cls, data: list[Any]) -> CoarseHistogram:
        hist = cls()
        hist.max = int(data[0])
        hist.counts = {int(i): int(n) for i, n in data[1]}
        return hist


class Second:
    """What happened in one wall-clock second of the run."""

    __slots__ = ("good", "latency", "ok", "outcomes", "output_tokens", "requests", "users")

    def __init__(self) -> None:
        self.requests = 0
        self.ok = 0
        self.good = 0
        self.output_tokens = 0
        self.outcomes: dict[str, int] = {}  # failed requests only, by outcome
        self.latency = {name: CoarseHistogram() for name in TIMELINE_METRICS}
        self.users: int | None = None  # sampled by the master / single process

    def merge(self, other: Second) -> None:
        self.requests += other.requests
        self.ok += other.ok
        self.good += other.good
        self.output_tokens += other.output_tokens
        for outcome, n in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n
        for name, hist in other.latency.items():
            self.latency.setdefault(name, CoarseHistogram()).merge(hist)
        if other.users is not None:
            self.users = other.users if self.users is None else max(self.users, other.users)

    def to_dict(self, t: int) -> dict[str, Any]:
        return {
            "t": t,
            "requests": self.requests,
            "ok": self.ok,
            "good": self.good,
            "output_tokens": self.output_tokens,
            "outcomes": dict(self.outcomes),
            "latency": {name: hist.to_list() for name, hist in self.latency.items()},
            "users": self.users,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Second:
        second = cls()
        second.requests = int(data["requests"])
        second.ok = int(data["ok"])
        second.good = int(data["good"])
        second.output_tokens = int(data["output_tokens"])
        second.outcomes = {str(k): int(v) for k, v in data["outcomes"].items()}
        for name, hist in data["latency"].items():
            second.latency[str(name)] = CoarseHistogram.from_list(hist)
        users = data.get("users")
        second.users = None if users is None else int(users)
        return second


class Timeline:
    def __init__(self) -> None:
        self.seconds: dict[int, Second] = {}

    def _at(self, t: int) -> Second:
        second = self.seconds.get(t)
        if second is None:
            second = self.seconds[t] = Second()
        return second

    def add(self, record: RequestRecord, offset_ns: int, *, good: bool, tokens: int) -> None:
        second = self._at((record.end_ns + offset_ns) // _NS_PER_S)
        second.requests += 1
        second.output_tokens += tokens
        if record.outcome is Outcome.OK:
            second.ok += 1
            second.good += good
            ttft = ttft_ns(record)
            if ttft is not None:
                second.latency["ttft"].record(ttft)
            second.latency["e2e"].record(e2e_ns(record))
        else:
            outcome = record.outcome.value
            second.outcomes[outcome] = second.outcomes.get(outcome, 0) + 1

    def note_users(self, wall_ns: int, users: int) -> None:
        """The number of running users at ``wall_ns``; a second keeps its largest."""
        second = self._at(wall_ns // _NS_PER_S)
        second.users = users if second.users is None else max(second.users, users)

    def merge(self, other: Timeline) -> None:
        for t, second in other.seconds.items():
            self._at(t).merge(second)

    def to_list(self) -> list[dict[str, Any]]:
        return [self.seconds[t].to_dict(t) for t in sorted(self.seconds)]

    @classmethod
    def from_list(cls, rows: list[dict[str, Any]]) -> Timeline:
        timeline = cls()
        for row in rows:
            timeline.seconds[int(row["t"])] = Second.from_dict(row)
        return timeline
