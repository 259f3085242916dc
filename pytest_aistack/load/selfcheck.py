"""Is the load generator itself distorting the timings?

A greenlet wakes every ``PERIOD_S``; how late it wakes is the event-loop lag any
stream read would also suffer. Process CPU time over wall time says how busy the
generator's one core is. A run is marked ``unreliable`` (with the reasons) when the
lag p99 or the CPU use pass their limits, or when open-loop requests were sent late.
Locust itself only warns at 90 % CPU; we put the verdict into the result file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pytest_aistack.metrics.histogram import Histogram

PERIOD_S = 0.01
CPU_WINDOW_S = 1.0
DEFAULT_MAX_LOOP_LAG_MS = 5.0
DEFAULT_MAX_CPU_PERCENT = 90.0


@dataclass(frozen=True, slots=True)
class Limits:
    max_loop_lag_p99_ms: float = DEFAULT_MAX_LOOP_LAG_MS
    max_cpu_percent: float = DEFAULT_MAX_CPU_PERCENT
    max_start_lag_p99_ms: float = 5.0


@dataclass(slots=True)
class SelfCheck:
    lag: Histogram = field(default_factory=Histogram)
    cpu_windows: list[float] = field(default_factory=list)
    running: bool = False

    def run(self) -> None:
        """The monitoring loop; spawn it as a greenlet and kill it to stop."""
        import gevent

        self.running = True
        period_ns = int(PERIOD_S * 1e9)
        window_wall = time.monotonic()
        window_cpu = time.process_time()
        while True:
            before = time.monotonic_ns()
            gevent.sleep(PERIOD_S)
            late = time.monotonic_ns() - before - period_ns
            self.lag.record(max(0, late))
            now = time.monotonic()
            if now - window_wall >= CPU_WINDOW_S:
                cpu = time.process_time()
                self.cpu_windows.append(100.0 * (cpu - window_cpu) / (now - window_wall))
                window_wall, window_cpu = now, cpu

    def to_dict(self, read_lag: Histogram | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"lag": self.lag.to_dict(), "cpu_windows": list(self.cpu_windows)}
        if read_lag is not None:
            data["read_lag"] = read_lag.to_dict()
        return data


def verdict(
    checks: dict[str, dict[str, Any]], start_lag: Histogram, limits: Limits
) -> dict[str, Any]:
    """Combine the self-checks of every generator process into the run's reliability."""
    reasons: list[str] = []
    processes: dict[str, Any] = {}
    for name, data in sorted(checks.items()):
        lag = Histogram.from_dict(data["lag"])
        cpu = [float(c) for c in data["cpu_windows"]]
        lag_p99_ms = lag.percentile(99) / 1e6 if lag.count else 0.0
        cpu_mean = sum(cpu) / len(cpu) if cpu else 0.0
        processes[name] = {
            "loop_lag_p50_ms": round(lag.percentile(50) / 1e6, 4) if lag.count else None,
            "loop_lag_p99_ms": round(lag_p99_ms, 4),
            "loop_lag_max_ms": round(lag.max / 1e6, 4),
            "cpu_percent_mean": round(cpu_mean, 1),
            "cpu_percent_max": round(max(cpu), 1) if cpu else None,
        }
        if data.get("read_lag"):
            # With kernel receive timestamps: how long bytes waited for this process.
            # Timings are corrected for it; reported so a reader can see the load.
            read_lag = Histogram.from_dict(data["read_lag"])
            if read_lag.count:
                processes[name]["read_lag_p50_ms"] = round(read_lag.percentile(50) / 1e6, 4)
                processes[name]["read_lag_p99_ms"] = round(read_lag.percentile(99) / 1e6, 4)
        if lag_p99_ms > limits.max_loop_lag_p99_ms:
            reasons.append(
                f"{name}: event-loop lag p99 {lag_p99_ms:.2f} ms > "
                f"{limits.max_loop_lag_p99_ms:g} ms (the generator delayed its own stream reads)"
            )
        if cpu_mean > limits.max_cpu_percent:
            reasons.append(
                f"{name}: generator CPU {cpu_mean:.0f} % of a core > {limits.max_cpu_percent:g} %"
                " (add --processes or workers)"
            )
    if start_lag.count:
        start_p99_ms = start_lag.percentile(99) / 1e6
        if start_p99_ms > limits.max_start_lag_p99_ms:
            reasons.append(
                f"open-loop requests were sent late: start lag p99 {start_p99_ms:.2f} ms > "
                f"{limits.max_start_lag_p99_ms:g} ms"
            )
    return {
        "reliable": not reasons,
        "reasons": reasons,
        "limits": {
            "max_loop_lag_p99_ms": limits.max_loop_lag_p99_ms,
            "max_cpu_percent": limits.max_cpu_percent,
            "max_start_lag_p99_ms": limits.max_start_lag_p99_ms,
        },
        "processes": processes,
    }
