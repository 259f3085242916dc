"""A compact log-linear histogram of non-negative integers (nanoseconds).

The bucketing follows the idea of HdrHistogram with three significant digits:
values below 2**11 get a bucket each; above that, every power-of-two range is
split into 1024 equal sub-buckets. A bucket ``[low, high)`` with ``low >= 2048``
has ``(high - low) / low <= 1/1024``, and a value is reported as its bucket's
midpoint clipped to the recorded min/max, so the relative error of any
percentile is at most 1/2048 (~0.05 %), inside the 0.1 % the design asks for.

Buckets are stored sparsely (index -> count). Two histograms merge by adding
counts, so merging per-process histograms gives exactly the histogram of the
union of their samples — which is what makes distributed percentiles exact.
No dependency: the whole thing is a dict and a few integer operations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

SUB_BUCKET_BITS = 10
_LINEAR_LIMIT = 1 << (SUB_BUCKET_BITS + 1)  # 2048: below this, one bucket per value
MAX_RELATIVE_ERROR = 1.0 / (1 << (SUB_BUCKET_BITS + 1))


def bucket_index(value: int) -> int:
    shift = value.bit_length() - (SUB_BUCKET_BITS + 1)
    if shift <= 0:
        return value
    return (shift << SUB_BUCKET_BITS) + (value >> shift)


def bucket_bounds(index: int) -> tuple[int, int]:
    """``[low, high)`` of the values that land in bucket ``index``."""
    shift = (index >> SUB_BUCKET_BITS) - 1
    if shift <= 0:
        return index, index + 1
    mantissa = index - (shift << SUB_BUCKET_BITS)
    return mantissa << shift, (mantissa + 1) << shift


class Histogram:
    """Counts of integer samples with bounded relative error; mergeable, serialisable."""

    __slots__ = ("_counts", "count", "max", "min", "total")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self.count = 0
        self.total = 0
        self.min = 0
        self.max = 0

    def record(self, value: int, times: int = 1) -> None:
        if value < 0:
            raise ValueError(f"histogram values must be >= 0, got {value}")
        shift = value.bit_length() - (SUB_BUCKET_BITS + 1)
        index = value if shift <= 0 else (shift << SUB_BUCKET_BITS) + (value >> shift)
        counts = self._counts
        counts[index] = counts.get(index, 0) + times
        if self.count == 0:
            self.min = self.max = value
        elif value < self.min:
            self.min = value
        elif value > self.max:
            self.max = value
        self.count += times
        self.total += value * times

    def record_many(self, values: Iterable[int]) -> None:
        for value in values:
            self.record(value)

    def merge(self, other: Histogram) -> None:
        if other.count == 0:
            return
        counts = self._counts
        for index, n in other._counts.items():
            counts[index] = counts.get(index, 0) + n
        if self.count == 0:
            self.min, self.max = other.min, other.max
        else:
            self.min = min(self.min, other.min)
            self.max = max(self.max, other.max)
        self.count += other.count
        self.total += other.total

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan

    def percentile(self, q: float) -> float:
        """The nearest-rank ``q``-th percentile (0 < q <= 100), NaN when empty."""
        if not 0 < q <= 100:
            raise ValueError(f"percentile must be in (0, 100], got {q}")
        if self.count == 0:
            return math.nan
        rank = max(1, math.ceil(q / 100 * self.count))
        seen = 0
        for index in sorted(self._counts):
            seen += self._counts[index]
            if seen >= rank:
                low, high = bucket_bounds(index)
                middle = (low + high - 1) / 2
                return float(min(max(middle, self.min), self.max))
        return float(self.max)  # unreachable: counts sum to self.count

    def count_below(self, limit: int) -> int:
        """How many samples are certainly < ``limit`` (whole buckets below it)."""
        return sum(n for i, n in self._counts.items() if bucket_bounds(i)[1] <= limit)

    def buckets(self) -> list[tuple[int, int, int]]:
        """``(low, high, count)`` of every non-empty bucket, in value order (for plots)."""
        return [(*bucket_bounds(i), self._counts[i]) for i in sorted(self._counts)]

    def percentiles(self, qs: Iterable[float]) -> dict[float, float]:
        return {q: self.percentile(q) for q in qs}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        indexes = sorted(self._counts)
        return {
            "count": self.count,
            "total": self.total,
            "min": self.min,
            "max": self.max,
            "buckets": [[i, self._counts[i]] for i in indexes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        hist = cls()
        try:
            buckets = [(int(i), int(n)) for i, n in data["buckets"]]
            hist.count = int(data["count"])
            hist.total = int(data["total"])
            hist.min = int(data["min"])
            hist.max = int(data["max"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a serialised Histogram ({exc!r}): {str(data)[:200]}") from exc
        if sum(n for _, n in buckets) != hist.count:
            raise ValueError("serialised Histogram is inconsistent: bucket counts != count")
        hist._counts = dict(buckets)
        return hist
