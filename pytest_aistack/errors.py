"""The root of every error pytest-aistack raises on purpose (the httpx ``_exceptions`` model).

Each error keeps the built-in base it had before, so ``except ValueError`` and
``except TimeoutError`` still catch what they caught; a caller that only wants to know
"was it ours, and which kind?" catches one of these::

    AistackError
    ├── ConfigError (ValueError)        a setting, profile, stack file or input file is wrong;
    │   ├── SettingsError               the message names the file/key/value and the fix
    │   ├── ProfileError
    │   ├── StackSpecError
    │   ├── ReportError
    │   └── ConformanceProfileError
    ├── StackError (RuntimeError)       a stack could not be started, reached or kept up
    │   ├── StackStartError             local backend: a service exited or never got healthy
    │   ├── DockerStackError            docker backend
    │   ├── ExternalStackError          the user's own stack
    │   └── HealthTimeout (TimeoutError)
    ├── ChaosError                      fault injection
    │   ├── ToxiproxyError              the Toxiproxy API refused or could not be reached
    │   └── EngineError (RuntimeError)  no Toxiproxy could be chosen or started
    └── LoadError (ValueError)          a load run's inputs
        ├── ArrivalError, OptionError, PromptFileError, ResultFileError
        └── SLOError
"""

from __future__ import annotations

__all__ = ["AistackError", "ChaosError", "ConfigError", "LoadError", "StackError"]


class AistackError(Exception):
    """Raised by pytest-aistack on purpose; the message says what is wrong and what to do."""


class ConfigError(AistackError, ValueError):
    """A setting, profile, stack file or input file is invalid."""


class StackError(AistackError, RuntimeError):
    """A stack could not be started, reached or kept running."""


class ChaosError(AistackError):
    """Fault injection failed: Toxiproxy refused, or none could be had."""


class LoadError(AistackError, ValueError):
    """A load run's inputs (options, prompts, arrivals, SLOs, result files) are invalid."""
