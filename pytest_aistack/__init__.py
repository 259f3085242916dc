"""pytest-aistack: resilience and load testing for self-hosted AI serving stacks.

The public API is what ``__all__`` lists; modules with a leading underscore and
names not listed here are internal. Importing this package is cheap (no pytest,
no httpx, no locust): child services import it too. The names users touch in tests
and locustfiles (``AIStack``, ``Chaos``, ``LLMClient``, ``LLMUser``...) are loaded
the first time they are used (PEP 562 ``__getattr__``), so ``LLMUser`` pulls in
Locust only in a locustfile, never in the pytest process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_aistack.errors import AistackError, ChaosError, ConfigError, LoadError, StackError
from pytest_aistack.runtime.process import ManagedProcess, ProcessError, announce_ready
from pytest_aistack.runtime.waiting import WaitAborted, WaitTimeout, wait_until
from pytest_aistack.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from pytest_aistack.asgi import collect_openai_stream
    from pytest_aistack.chaos.client import AsyncToxiproxyClient, ToxiproxyClient
    from pytest_aistack.chaos.faults import Chaos
    from pytest_aistack.llm.client import LLMClient
    from pytest_aistack.llm.stream import StreamRecorder
    from pytest_aistack.load.shapes import BurstShape
    from pytest_aistack.load.user import LLMUser
    from pytest_aistack.metrics.record import Outcome, RequestRecord
    from pytest_aistack.metrics.slo import SLOSpec, parse_slo
    from pytest_aistack.metrics.summary import Summary
    from pytest_aistack.resilience.breakers import BreakerWindow
    from pytest_aistack.resilience.records import ScenarioRecord
    from pytest_aistack.stack.backend import Secret, Stack, StackBackend
    from pytest_aistack.stack.gateway_call import ChatResult
    from pytest_aistack.stack.handle import AIStack

__version__ = "0.1.0.dev0"

# name -> module it lives in, imported on first access.
_LAZY = {
    "AIStack": "pytest_aistack.stack.handle",
    "AsyncToxiproxyClient": "pytest_aistack.chaos.client",
    "BreakerWindow": "pytest_aistack.resilience.breakers",
    "BurstShape": "pytest_aistack.load.shapes",
    "Chaos": "pytest_aistack.chaos.faults",
    "ChatResult": "pytest_aistack.stack.gateway_call",
    "LLMClient": "pytest_aistack.llm.client",
    "LLMUser": "pytest_aistack.load.user",
    "Outcome": "pytest_aistack.metrics.record",
    "RequestRecord": "pytest_aistack.metrics.record",
    "SLOSpec": "pytest_aistack.metrics.slo",
    "ScenarioRecord": "pytest_aistack.resilience.records",
    "Secret": "pytest_aistack.stack.backend",
    "Stack": "pytest_aistack.stack.backend",
    "StackBackend": "pytest_aistack.stack.backend",
    "StreamRecorder": "pytest_aistack.llm.stream",
    "Summary": "pytest_aistack.metrics.summary",
    "ToxiproxyClient": "pytest_aistack.chaos.client",
    "collect_openai_stream": "pytest_aistack.asgi",
    "parse_slo": "pytest_aistack.metrics.slo",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_aistack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AIStack",
    "AistackError",
    "AsyncToxiproxyClient",
    "BreakerWindow",
    "BurstShape",
    "Chaos",
    "ChaosError",
    "ChatResult",
    "ConfigError",
    "LLMClient",
    "LLMUser",
    "LoadError",
    "ManagedProcess",
    "Outcome",
    "ProcessError",
    "RequestRecord",
    "SLOSpec",
    "ScenarioRecord",
    "Secret",
    "Settings",
    "SettingsError",
    "Stack",
    "StackBackend",
    "StackError",
    "StreamRecorder",
    "Summary",
    "ToxiproxyClient",
    "WaitAborted",
    "WaitTimeout",
    "__version__",
    "announce_ready",
    "collect_openai_stream",
    "get_settings",
    "parse_slo",
    "wait_until",
]
