"""What the mock sent, per request id and per endpoint: the harness's ground truth."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    backend: str
    endpoint: str
    model: str | None
    stream: bool
    status: int
    outcome: str
    fault: str | None
    tokens_planned: int
    tokens_sent: int
    received_at: float
    headers_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["request_id"]
        return data


REJECT_REASONS = ("queue_timeout", "shed", "draining", "loading")


class Stats:
    def __init__(self, backend: str, max_records: int) -> None:
        self.backend = backend
        self.max_records = max_records
        self.started_at = time.time()
        self.reset()

    def reset(self) -> None:
        self.endpoints: dict[str, dict[int, int]] = {}
        self.tokens_sent = 0
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)
        self.records: OrderedDict[str, RequestRecord] = OrderedDict()
        self.dropped = 0

    def count(self, endpoint: str, status: int) -> None:
        by_status = self.endpoints.get(endpoint)
        if by_status is None:
            by_status = self.endpoints[endpoint] = {}
        by_status[status] = by_status.get(status, 0) + 1

    def add_record(self, record: RequestRecord) -> None:
        records = self.records
        if record.request_id in records:
            del records[record.request_id]  # a repeated id keeps its latest record
        records[record.request_id] = record
        while len(records) > self.max_records:
            records.popitem(last=False)
            self.dropped += 1

    def rename_record(self, old_id: str, new_id: str) -> None:
        record = self.records.pop(old_id, None)
        if record is not None:
            record.request_id = new_id
            self.add_record(record)

    @property
    def requests_total(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.endpoints.values())

    def endpoints_json(self) -> dict[str, Any]:
        return {
            endpoint: {
                "total": sum(by_status.values()),
                "by_status": {str(code): n for code, n in sorted(by_status.items())},
            }
            for endpoint, by_status in sorted(self.endpoints.items())
        }

    def prometheus(self, in_flight: int, queued: int) -> str:
        lines = [
            "# HELP mock_llm_requests_total Requests answered, by endpoint and status.",
            "# TYPE mock_llm_requests_total counter",
        ]
        for endpoint, by_status in sorted(self.endpoints.items()):
            for code, n in sorted(by_status.items()):
                lines.append(
                    f'mock_llm_requests_total{{endpoint="{endpoint}",status="{code}"}} {n}'
                )
        lines += [
            "# HELP mock_llm_tokens_sent_total Content tokens sent.",
            "# TYPE mock_llm_tokens_sent_total counter",
            f"mock_llm_tokens_sent_total {self.tokens_sent}",
            "# HELP mock_llm_in_flight Generation requests admitted and not finished.",
            "# TYPE mock_llm_in_flight gauge",
            f"mock_llm_in_flight {in_flight}",
            "# HELP mock_llm_queued Generation requests waiting for a slot.",
            "# TYPE mock_llm_queued gauge",
            f"mock_llm_queued {queued}",
            "# HELP mock_llm_rejected_total Requests rejected by capacity or lifecycle.",
            "# TYPE mock_llm_rejected_total counter",
        ]
        for reason, n in self.rejected.items():
            lines.append(f'mock_llm_rejected_total{{reason="{reason}"}} {n}')
        return "\n".join(lines) + "\n"


class LatenessHistogram:
    """How late steps were written versus their deadlines, in 0.1 ms buckets up to 1 s.

    Server-side timer accuracy: a client's |delivered - configured| includes this plus
    the network and the client's own scheduling.
    """

    BUCKET_S = 0.0001
    BUCKETS = 10_000

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts = [0] * (self.BUCKETS + 1)
        self.total = 0
        self.max_s = 0.0

    def record(self, late_s: float) -> None:
        if late_s < 0.0:
            late_s = 0.0  # written early (within the tick window): not late
        elif late_s > self.max_s:
            self.max_s = late_s
        index = int(late_s / self.BUCKET_S)
        self.counts[index if index < self.BUCKETS else self.BUCKETS] += 1
        self.total += 1

    def quantile_ms(self, q: float) -> float | None:
        if self.total == 0:
            return None
        rank = q * (self.total - 1)
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen > rank:
                return round((index + 1) * self.BUCKET_S * 1000, 3)  # bucket upper bound
        return round(self.max_s * 1000, 3)

    def as_json(self) -> dict[str, Any]:
        return {
            "steps": self.total,
            "p50_ms": self.quantile_ms(0.5),
            "p99_ms": self.quantile_ms(0.99),
            "max_ms": round(self.max_s * 1000, 3),
        }
