"""pytest-aistack: resilience and load testing for self-hosted AI serving stacks.

The public API is what ``__all__`` lists; modules with a leading underscore and
names not listed here are internal. Importing this package is cheap (no pytest,
no httpx): child services import it too.
"""

from __future__ import annotations

from pytest_aistack.config import Settings, SettingsError, get_settings
from pytest_aistack.process import ManagedProcess, ProcessError, announce_ready
from pytest_aistack.waiting import WaitAborted, WaitTimeout, wait_until

__version__ = "0.1.0.dev0"

__all__ = [
    "ManagedProcess",
    "ProcessError",
    "Settings",
    "SettingsError",
    "WaitAborted",
    "WaitTimeout",
    "__version__",
    "announce_ready",
    "get_settings",
    "wait_until",
]
