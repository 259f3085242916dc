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
