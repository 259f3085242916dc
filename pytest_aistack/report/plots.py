"""The charts of one load run: latency distributions and the run over time.

Distributions come from the run's exact histograms; "over time" charts from its
timeline (one bucket per wall-clock second, :mod:`pytest_aistack.metrics.timeline`),
with the users the load shape ran drawn on the right axis of each.
"""

from __future__ import annotations

import math

from pytest_aistack.load.results import LoadResult
from pytest_aistack.metrics import Histogram
from pytest_aistack.metrics.timeline import TIMELINE_RELATIVE_ERROR, Second, Timeline

from . import svg
from .svg import Chart, Marker, Series, StackedBars

_NS_PER_MS = 1_000_000.0
DISTRIBUTION_BINS = 40
# A tail longer than this many p99s would squash the distribution into one bar.
_TAIL_FACTOR = 2.0
_FAILURE_COLORS = (
    svg.VERMILLION,
    svg.ORANGE,
    svg.PURPLE,
    svg.SKY,
    svg.YELLOW,
    svg.BLUE,
    "#000000",
    svg.GREY,
)


def distribution(hist: Histogram, *, metric: str, title: str) -> Chart:
    """Counts of ``hist``'s samples in equal-width millisecond bins, p50/p90/p99 marked."""
    tags = {"chart": f"distribution-{metric}"}
    if hist.count == 0:
        return Chart(title, "ms", "samples", note="no samples", tags=tags)
    low = hist.min / _NS_PER_MS
    high = hist.max / _NS_PER_MS
    note = f"{hist.count} samples, max {high:.3g} ms"
    p99 = hist.percentile(99) / _NS_PER_MS
    if hist.count >= 100 and high > _TAIL_FACTOR * p99:
        high = hist.percentile(99.9) / _NS_PER_MS
        beyond = hist.count - sum(
            n for lo, hi, n in hist.buckets() if (lo + hi - 1) / 2 / _NS_PER_MS <= high
        )
        note += f"; {beyond} samples above {high:.3g} ms (p99.9) not shown"
    if high > low:
        width = (high - low) / DISTRIBUTION_BINS
        x_range = (low, low + width * DISTRIBUTION_BINS)
    else:  # every sample in one bucket: one bar in the middle of a +-20 % window
        width = max(low * 0.01, 0.001)
        x_range = (low - width * DISTRIBUTION_BINS / 2, low + width * DISTRIBUTION_BINS / 2)
    counts = [0] * DISTRIBUTION_BINS
    for lo, hi, n in hist.buckets():
        middle = min(max((lo + hi - 1) / 2, hist.min), hist.max) / _NS_PER_MS
        if middle > high + width * 1e-9:
            continue
        counts[min(int((middle - low) / width), DISTRIBUTION_BINS - 1)] += n
    bars = [(low + i * width, float(n)) for i, n in enumerate(counts) if n]
    markers = [
        Marker(hist.percentile(q) / _NS_PER_MS, label)
        for label, q in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))
        if hist.percentile(q) / _NS_PER_MS <= high
    ]
    return Chart(
        title,
        "ms",
        "samples",
        series=[Series(metric, bars, svg.BLUE, style="bars", bar_width=width)],
        markers=_spread_labels(markers, width * 3),
        x_range=x_range,
        note=note,
        tags=tags,
    )


def _spread_labels(markers: list[Marker], min_gap: float) -> list[Marker]:
    """Merge the labels of markers closer than ``min_gap`` (p90 and p99 often are)."""
    merged: list[Marker] = []
    for marker in markers:
        if merged and marker.x - merged[-1].x < min_gap:
            last = merged.pop()
            marker = Marker(marker.x, f"{last.label}/{marker.label}", marker.color)
        merged.append(marker)
    return merged


def over_time(result: LoadResult) -> list[Chart]:
    """Latency, throughput, tokens and outcomes per second, users on the right axis."""
    timeline = result.metrics().timeline
    if not timeline.seconds:
        return []
    first, last = min(timeline.seconds), max(timeline.seconds)
    seconds = [timeline.seconds.get(t) for t in range(first, last + 1)]
    xs = [float(t - first) for t in range(first, last + 1)]
    users = _users(timeline, first)
    x_range = (0.0, float(last - first + 1))

    def per_second(value: str) -> list[tuple[float, float]]:
        return [
            (x + 0.5, float(getattr(s, value)) if s is not None else 0.0)
            for x, s in zip(xs, seconds, strict=True)
        ]

    def latency(metric: str, q: float) -> list[tuple[float, float]]:
        points = []
        for x, s in zip(xs, seconds, strict=True):
            value = s.latency[metric].percentile(q) if s is not None else math.nan
            points.append((x + 0.5, value / _NS_PER_MS))
        return points

    error = f"per-second percentiles within {TIMELINE_RELATIVE_ERROR:.2%}"
    return [
        Chart(
            "Latency over time (requests by the second they ended)",
            "s into the run",
            "ms",
            series=[
                Series("TTFT p50", latency("ttft", 50), svg.BLUE),
                Series("TTFT p99", latency("ttft", 99), svg.BLUE, dashed=True),
                Series("E2E p50", latency("e2e", 50), svg.ORANGE),
                Series("E2E p99", latency("e2e", 99), svg.ORANGE, dashed=True),
                *users,
            ],
            y2_label="users" if users else "",
            x_range=x_range,
            note=error,
            tags={"chart": "latency-over-time"},
        ),
        Chart(
            "Throughput over time",
            "s into the run",
            "requests/s",
            series=[
                Series("requests/s", per_second("requests"), svg.BLUE),
                Series("goodput/s", per_second("good"), svg.GREEN),
                *users,
            ],
            y2_label="users" if users else "",
            x_range=x_range,
            tags={"chart": "throughput-over-time"},
        ),
        Chart(
            "Output tokens over time",
            "s into the run",
            "output tokens/s",
            series=[Series("tokens/s", per_second("output_tokens"), svg.PURPLE), *users],
            y2_label="users" if users else "",
            x_range=x_range,
            tags={"chart": "tokens-over-time"},
        ),
        _outcomes(xs, seconds, users, x_range),
    ]


def _users(timeline: Timeline, first: int) -> list[Series]:
    points = [
        (float(t - first), float(s.users))
        for t, s in sorted(timeline.seconds.items())
        if s.users is not None
    ]
    if not points:
        return []
    points.append((points[-1][0] + 1.0, points[-1][1]))  # the last second's step ends too
    return [Series("users", points, svg.GREY, style="step", axis="right")]


def _outcomes(
    xs: list[float],
    seconds: list[Second | None],
    users: list[Series],
    x_range: tuple[float, float],
) -> Chart:
    present = [s for s in seconds if s is not None]
    failures = sorted({name for s in present for name in s.outcomes})
    colors = [_FAILURE_COLORS[i % len(_FAILURE_COLORS)] for i in range(len(failures))]
    values = [[float(s.ok) if s is not None else 0.0 for s in seconds]]
    for name in failures:
        values.append([float(s.outcomes.get(name, 0)) if s is not None else 0.0 for s in seconds])
    return Chart(
        "Outcomes over time",
        "s into the run",
        "requests/s",
        stacked=StackedBars(["ok", *failures], [svg.GREEN, *colors], xs, values),
        series=users,
        y2_label="users" if users else "",
        x_range=x_range,
        tags={"chart": "outcomes-over-time"},
    )
