"""Small, dependency-free SVG charts: lines, steps, bars and stacked bars on one or two axes.

The HTML report draws every plot with this module (docs/decisions.md, "The HTML
report draws its plots as server-side SVG"). Output is deterministic text: the same
data gives the same bytes, so tests compare it, and a browser needs no script to
show it. Each series is a ``<g class="series" data-series="...">`` group, so a test
(or a reader of the DOM) can find what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/).
BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PURPLE, SKY, YELLOW, GREY = "#CC79A7", "#56B4E9", "#F0E442", "#999999"
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, "#000000")

Style = Literal["line", "step", "bars"]
Side = Literal["left", "right"]


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]  # (x, y); bars: x is the bar's left edge
    color: str
    style: Style = "line"
    axis: Side = "left"
    bar_width: float = 1.0  # bars: in x units
    dashed: bool = False


@dataclass(frozen=True)
class StackedBars:
    """Bars of several layers stacked at each x (e.g. outcomes per second)."""

    names: Sequence[str]
    colors: Sequence[str]
    xs: Sequence[float]
    values: Sequence[Sequence[float]]  # values[layer][i] at xs[i]
    bar_width: float = 1.0


@dataclass(frozen=True)
class Marker:
    """A labelled vertical line (e.g. p99 on a distribution)."""

    x: float
    label: str
    color: str = "#333333"


@dataclass(frozen=True)
class Chart:
    title: str
    x_label: str
    y_label: str
    series: Sequence[Series] = ()
    stacked: StackedBars | None = None
    markers: Sequence[Marker] = ()
    y2_label: str = ""
    x_range: tuple[float, float] | None = None
    note: str = ""  # one line under the title (e.g. what is not shown)
    width: int = 760
    height: int = 280
    tags: dict[str, str] = field(default_factory=dict)  # extra data-* attributes


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 5 x 10^n steps)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else [0.0]
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def number(value: float) -> str:
    """A tick label: 1200 -> 1.2k, 0.25 -> 0.25, 3.0 -> 3."""
    if abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.3g}"


def _f(value: float) -> str:
    return f"{value:.1f}"


class _Frame:
    """Maps data coordinates to pixels inside the plot area."""

    def __init__(self, chart: Chart) -> None:
        self.left = 64.0
        self.right = chart.width - (64.0 if chart.y2_label else 20.0)
        # Rows above the plot: the title, then the note, then the legend unless it fits
        # beside the title (text width estimated at 7 px a character at 11-13 px).
        row = 34.0
        self.note_y = row if chart.note else 0.0
        row += 15.0 if chart.note else 0.0
        legend_width = sum(24 + 7 * len(name) for name, _, _ in _legend_entries(chart))
        title_width = 7.5 * len(chart.title)
        self.legend_beside_title = self.left + title_width + 16 + legend_width < self.right
        self.legend_y = 14.0 if self.legend_beside_title else row
        row += 0.0 if self.legend_beside_title else 15.0
        self.top = row + 10.0
        self.bottom = chart.height - 42.0
        xs = [x for s in chart.series for x, _ in s.points]
        xs += [x + s.bar_width for s in chart.series if s.style == "bars" for x, _ in s.points]
        if chart.stacked is not None:
            xs += list(chart.stacked.xs)
            xs += [x + chart.stacked.bar_width for x in chart.stacked.xs]
        xs += [m.x for m in chart.markers]
        x_low, x_high = chart.x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
        if x_high <= x_low:
            x_high = x_low + 1.0
        self.x_ticks = nice_ticks(x_low, x_high)
        self.x_low, self.x_high = x_low, x_high
        self.y_ticks = nice_ticks(0.0, self._y_max(chart, "left"))
        self.y2_ticks = nice_ticks(0.0, self._y_max(chart, "right"))

    @staticmethod
    def _y_max(chart: Chart, side: Side) -> float:
        ys = [y for s in chart.series if s.axis == side for _, y in s.points if math.isfinite(y)]
        if side == "left" and chart.stacked is not None:
            ys += [sum(layer) for layer in zip(*chart.stacked.values, strict=True)]
        return max(ys, default=0.0) or 1.0

    def x(self, value: float) -> float:
        span = self.x_high - self.x_low
        return self.left + (value - self.x_low) / span * (self.right - self.left)

    def y(self, value: float, side: Side = "left") -> float:
        ticks = self.y_ticks if side == "left" else self.y2_ticks
        top = ticks[-1] or 1.0
        return self.bottom - value / top * (self.bottom - self.top)


def render(chart: Chart) -> str:
    frame = _Frame(chart)
    tags = "".join(f' data-{escape(k)}="{escape(v)}"' for k, v in chart.tags.items())
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{chart.width}" height="{chart.height}" '
        f'viewBox="0 0 {chart.width} {chart.height}" aria-label="{escape(chart.title)}"{tags}>',
        f"<title>{escape(chart.title)}</title>",
        f'<text class="title" x="{_f(frame.left)}" y="18">{escape(chart.title)}</text>',
    ]
    if chart.note:
        out.append(
            f'<text class="note" x="{_f(frame.left)}" y="{_f(frame.note_y)}">'
            f"{escape(chart.note)}</text>"
        )
    out += _axes(chart, frame)
    if chart.stacked is not None:
        out += _stacked(chart.stacked, frame)
    for series in chart.series:
        out.append(_series(series, frame))
    for marker in chart.markers:
        px = frame.x(marker.x)
        x = _f(px)
        # Labels near an edge grow inwards, so they are not cut off by the frame.
        anchor = "end" if px > frame.right - 30 else "start" if px < frame.left + 30 else "middle"
        out.append(
            f'<g class="marker"><line x1="{x}" x2="{x}" y1="{_f(frame.top)}" '
            f'y2="{_f(frame.bottom)}" stroke="{marker.color}" stroke-dasharray="4 3"/>'
            f'<text x="{x}" y="{_f(frame.top - 3)}" text-anchor="{anchor}" '
            f'fill="{marker.color}">{escape(marker.label)}</text></g>'
        )
    out.append(_legend(chart, frame))
    out.append("</svg>")
    return "\n".join(out)


def _axes(chart: Chart, frame: _Frame) -> list[str]:
    out = ['<g class="axes">']
    for tick in frame.y_ticks:
        y = _f(frame.y(tick))
        out.append(
            f'<line class="grid" x1="{_f(frame.left)}" x2="{_f(frame.right)}" y1="{y}" y2="{y}"/>'
            f'<text x="{_f(frame.left - 6)}" y="{y}" text-anchor="end" dy="0.32em">'
            f"{number(tick)}</text>"
        )
    if chart.y2_label:
        for tick in frame.y2_ticks:
            y = _f(frame.y(tick, "right"))
            out.append(
                f'<text class="y2" x="{_f(frame.right + 6)}" y="{y}" dy="0.32em">'
                f"{number(tick)}</text>"
            )
        x2 = _f(frame.right + 50)
        mid = _f((frame.top + frame.bottom) / 2)
        out.append(
            f'<text class="y2 label" x="{x2}" y="{mid}" text-anchor="middle" '
            f'transform="rotate(90 {x2} {mid})">{escape(chart.y2_label)}</text>'
        )
    for tick in frame.x_ticks:
        if not frame.x_low - 1e-9 <= tick <= frame.x_high + 1e-9:
            continue
        x = _f(frame.x(tick))
        out.append(
            f'<line class="tick" x1="{x}" x2="{x}" y1="{_f(frame.bottom)}" '
            f'y2="{_f(frame.bottom + 4)}"/>'
            f'<text x="{x}" y="{_f(frame.bottom + 16)}" text-anchor="middle">{number(tick)}</text>'
        )
    out.append(
        f'<line class="axis" x1="{_f(frame.left)}" x2="{_f(frame.right)}" '
        f'y1="{_f(frame.bottom)}" y2="{_f(frame.bottom)}"/>'
    )
    mid_x = _f((frame.left + frame.right) / 2)
    out.append(
        f'<text class="label" x="{mid_x}" y="{chart.height - 6}" text-anchor="middle">'
        f"{escape(chart.x_label)}</text>"
    )
    mid_y = _f((frame.top + frame.bottom) / 2)
    out.append(
        f'<text class="label" x="14" y="{mid_y}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid_y})">{escape(chart.y_label)}</text>'
    )
    out.append("</g>")
    return out


def _series(series: Series, frame: _Frame) -> str:
    head = (
        f'<g class="series" data-series="{escape(series.name)}" data-points="{len(series.points)}">'
    )
    points = [(x, y) for x, y in series.points if math.isfinite(y)]
    if not points:
        return head + "</g>"
    dash = ' stroke-dasharray="6 3"' if series.dashed else ""
    if series.style == "bars":
        bars = []
        for x, y in points:
            left, right = frame.x(x), frame.x(x + series.bar_width)
            top = frame.y(y, series.axis)
            bars.append(
                f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(max(1.0, right - left - 1))}" '
                f'height="{_f(frame.bottom - top)}" fill="{series.color}">'
                f"<title>{number(x)}-{number(x + series.bar_width)}: {number(y)}</title></rect>"
            )
        return head + "".join(bars) + "</g>"
    if series.style == "step":
        x0, y0 = points[0]
        path = [f"M{_f(frame.x(x0))},{_f(frame.y(y0, series.axis))}"]
        for x, y in points[1:]:
            path.append(f"H{_f(frame.x(x))}V{_f(frame.y(y, series.axis))}")
        return (
            head + f'<path d="{"".join(path)}" fill="none" stroke="{series.color}" '
            f'stroke-width="2"{dash}/></g>'
        )
    coords = " ".join(f"{_f(frame.x(x))},{_f(frame.y(y, series.axis))}" for x, y in points)
    dots = ""
    if len(points) == 1:  # a lone point draws no line: show it as a dot
        x, y = points[0]
        dots = (
            f'<circle cx="{_f(frame.x(x))}" cy="{_f(frame.y(y, series.axis))}" r="3" '
            f'fill="{series.color}"/>'
        )
    return (
        head + f'<polyline points="{coords}" fill="none" stroke="{series.color}" '
        f'stroke-width="2" stroke-linejoin="round"{dash}/>{dots}</g>'
    )


def _stacked(stacked: StackedBars, frame: _Frame) -> list[str]:
    out = []
    base = [0.0] * len(stacked.xs)
    for name, color, layer in zip(stacked.names, stacked.colors, stacked.values, strict=True):
        rects = []
        for i, (x, value) in enumerate(zip(stacked.xs, layer, strict=True)):
            if value <= 0:
                continue
            left, right = frame.x(x), frame.x(x + stacked.bar_width)
            top, bottom = frame.y(base[i] + value), frame.y(base[i])
            base[i] += value
            rects.append(
                f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(max(1.0, right - left - 1))}" '
                f'height="{_f(bottom - top)}" fill="{color}">'
                f"<title>{escape(name)} at {number(x)}: {number(value)}</title></rect>"
            )
        out.append(
            f'<g class="series" data-series="{escape(name)}" data-points="{len(rects)}">'
            + "".join(rects)
            + "</g>"
        )
    return out


def _legend_entries(chart: Chart) -> list[tuple[str, str, bool]]:
    entries: list[tuple[str, str, bool]] = []
    if chart.stacked is not None:
        pairs = zip(chart.stacked.names, chart.stacked.colors, strict=True)
        entries += [(name, color, False) for name, color in pairs]
    return entries + [(s.name, s.color, s.dashed) for s in chart.series]


def _legend(chart: Chart, frame: _Frame) -> str:
    """Right-aligned beside the title when it fits, else left-aligned on its own row."""
    entries = _legend_entries(chart)
    widths = [24 + 7 * len(name) for name, _, _ in entries]
    x = frame.right - sum(widths) if frame.legend_beside_title else frame.left
    y = frame.legend_y
    out = ['<g class="legend">']
    for (name, color, dashed), width in zip(entries, widths, strict=True):
        dash = ' stroke-dasharray="4 2"' if dashed else ""
        out.append(
            f'<line x1="{_f(x)}" x2="{_f(x + 12)}" y1="{_f(y)}" y2="{_f(y)}" stroke="{color}" '
            f'stroke-width="3"{dash}/><text x="{_f(x + 16)}" y="{_f(y + 4)}">'
            f"{escape(name)}</text>"
        )
        x += width
    out.append("</g>")
    return "".join(out)
