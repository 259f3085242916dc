"""One user class per mock fault: a single run shows every failure outcome counted."""

from typing import ClassVar

from pytest_aistack.load.user import LLMUser


class Healthy(LLMUser):
    pass


class Cut(LLMUser):
    extra_headers: ClassVar[dict[str, str]] = {"x-mock-fault": "cut,after=3"}


class Truncated(LLMUser):
    extra_headers: ClassVar[dict[str, str]] = {"x-mock-fault": "truncate,after=3"}


class InbandError(LLMUser):
    extra_headers: ClassVar[dict[str, str]] = {"x-mock-fault": "inband_error,at=2"}


class Malformed(LLMUser):
    extra_headers: ClassVar[dict[str, str]] = {"x-mock-fault": "malformed,at=2"}


class RateLimited(LLMUser):
    extra_headers: ClassVar[dict[str, str]] = {"x-mock-fault": "status,code=429,retry_after=1"}


class Stalled(LLMUser):
    extra_headers: ClassVar[dict[str, str]] = {"x-mock-fault": "stall,after=2,ping=0.05"}
