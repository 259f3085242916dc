"""Counters behind ``/metrics`` (toxiproxy ``collectors/proxy.go`` names and labels).

Upstream adds a link's byte count to its counter when the link ends; here the counters
grow as bytes pass, so a scrape during a long stream already sees them (totals after the
connection closes are the same). The ``aistack_*`` families are our documented extension:
connections accepted and open per proxy, and connections that carried data through each
toxic — the evidence the ``chaos`` fixture uses to report faults a test never exercised.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from .ledger import EmbeddedLedger

LinkLabels = tuple[str, str, str, str]  # direction, listener, proxy, upstream
# How late a latency toxic released a chunk after its due time, in seconds.
LATENESS_BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    def __init__(self) -> None:
        self.received: defaultdict[LinkLabels, int] = defaultdict(int)
        self.sent: defaultdict[LinkLabels, int] = defaultdict(int)
        self.accepted: defaultdict[str, int] = defaultdict(int)
        self.active: defaultdict[str, int] = defaultdict(int)
        self.toxic_connections: defaultdict[tuple[str, str], int] = defaultdict(int)
        # Exceptions nothing handled (the loop's exception handler saw them): a bug.
        self.internal_errors = 0
        self.lateness_counts = [0] * (len(LATENESS_BUCKETS) + 1)
        self.lateness_sum = 0.0
        # Per-request records beside the counters (ledger.py, served at /aistack/ledger);
        # here because every proxy and connection already reaches the server's Metrics.
        self.ledger = EmbeddedLedger()

    def observe_latency_lateness(self, seconds: float) -> None:
        self.lateness_counts[bisect.bisect_left(LATENESS_BUCKETS, seconds)] += 1
        self.lateness_sum += seconds

    def render(self) -> str:
        lines: list[str] = []
        for family, help_text, values in (
            (
                "toxiproxy_proxy_received_bytes_total",
                "Bytes read from the source side of a proxy link.",
                self.received,
            ),
            (
                "toxiproxy_proxy_sent_bytes_total",
                "Bytes written to the destination side of a proxy link.",
                self.sent,
            ),
        ):
            lines.append(f"# HELP {family} {help_text}")
            lines.append(f"# TYPE {family} counter")
            for (direction, listener, proxy, upstream), count in sorted(values.items()):
                labels = (
                    f'direction="{_escape(direction)}",listener="{_escape(listener)}",'
                    f'proxy="{_escape(proxy)}",upstream="{_escape(upstream)}"'
                )
                lines.append(f"{family}{{{labels}}} {count}")
        lines.append(
            "# HELP aistack_proxy_connections_accepted_total "
            "Client connections accepted by a proxy (pytest-aistack extension)."
        )
        lines.append("# TYPE aistack_proxy_connections_accepted_total counter")
        for proxy, count in sorted(self.accepted.items()):
            lines.append(
                f'aistack_proxy_connections_accepted_total{{proxy="{_escape(proxy)}"}} {count}'
            )
        lines.append(
            "# HELP aistack_proxy_connections_active "
            "Client connections a proxy holds open now (pytest-aistack extension)."
        )
        lines.append("# TYPE aistack_proxy_connections_active gauge")
        for proxy, count in sorted(self.active.items()):
            lines.append(f'aistack_proxy_connections_active{{proxy="{_escape(proxy)}"}} {count}')
        lines.append(
            "# HELP aistack_toxic_connections_total "
            "Connections that carried data through a toxic (pytest-aistack extension)."
        )
        lines.append("# TYPE aistack_toxic_connections_total counter")
        for (proxy, toxic), count in sorted(self.toxic_connections.items()):
            lines.append(
                f'aistack_toxic_connections_total{{proxy="{_escape(proxy)}",'
                f'toxic="{_escape(toxic)}"}} {count}'
            )
        family = "aistack_latency_toxic_lateness_seconds"
        lines.append(
            f"# HELP {family} How late latency toxics released chunks after their due time "
            "(pytest-aistack extension)."
        )
        lines.append(f"# TYPE {family} histogram")
        cumulative = 0
        for bound, count in zip(LATENESS_BUCKETS, self.lateness_counts, strict=False):
            cumulative += count
            lines.append(f'{family}_bucket{{le="{bound}"}} {cumulative}')
        total = sum(self.lateness_counts)
        lines.append(f'{family}_bucket{{le="+Inf"}} {total}')
        lines.append(f"{family}_sum {self.lateness_sum}")
        lines.append(f"{family}_count {total}")
        lines.append(
            "# HELP aistack_internal_errors_total "
            "Unhandled exceptions in the embedded server (pytest-aistack extension)."
        )
        lines.append("# TYPE aistack_internal_errors_total counter")
        lines.append(f"aistack_internal_errors_total {self.internal_errors}")
        return "\n".join(lines) + "\n"
