"""One request, as observed: timestamps and exactly one outcome.

Timestamps are ``time.monotonic_ns()`` readings taken by the client that sent the
request; they are only ever subtracted from each other within one record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    """The one terminal outcome of a request (docs/metrics.md, "Outcomes")."""

    OK = "ok"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    TRUNCATED_ABRUPT = "truncated_abrupt"
    TRUNCATED_CLEAN = "truncated_clean"
    INBAND_ERROR = "inband_error"
    STALL = "stall"
    MALFORMED = "malformed"
    SPLICED = "spliced"


@dataclass(slots=True)
class RequestRecord:
    """Everything the metric definitions need about one request."""

    request_id: str
    sent_ns: int
    end_ns: int
    outcome: Outcome
    # Open-loop runs: when the arrival schedule wanted the request sent.
    scheduled_ns: int | None = None
    headers_ns: int | None = None
    first_byte_ns: int | None = None
    # Arrival time of every event carrying non-empty content or reasoning text.
    content_ns: list[int] = field(default_factory=list)
    status: int | None = None
    error: str = ""
    usage_output_tokens: int | None = None
    usage_prompt_tokens: int | None = None
    finish_reason: str | None = None
    model: str | None = None
    text: str | None = None

    @property
    def first_token_ns(self) -> int | None:
        return self.content_ns[0] if self.content_ns else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "sent_ns": self.sent_ns,
            "end_ns": self.end_ns,
            "outcome": self.outcome.value,
            "scheduled_ns": self.scheduled_ns,
            "headers_ns": self.headers_ns,
            "first_byte_ns": self.first_byte_ns,
            "content_ns": list(self.content_ns),
            "status": self.status,
            "error": self.error,
            "usage_output_tokens": self.usage_output_tokens,
            "usage_prompt_tokens": self.usage_prompt_tokens,
            "finish_reason": self.finish_reason,
            "model": self.model,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        fields = dict(data)
        fields["outcome"] = Outcome(fields["outcome"])
        fields["content_ns"] = list(fields.get("content_ns", []))
        return cls(**fields)
