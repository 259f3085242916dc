"""Load shapes (Locust ``LoadTestShape``), parameterised by ``--shape-*`` options.

All shapes scale users; with an open-loop arrival each user is an arrival stream,
so they scale the request rate too.

- ``BurstShape``: baseline users -> baseline x ``--burst-multiplier`` from
  ``--burst-at`` for ``--burst-for`` seconds -> baseline, until ``--shape-duration``.
- ``StepShape``: ``--step-users`` more every ``--step-every`` s, until the duration.
- ``SpikeShape``: baseline, with a spike to baseline x ``--spike-multiplier`` for
  ``--spike-for`` s every ``--spike-every`` s (spawned at once).
- ``SoakShape``: ramp to the baseline over ``--soak-ramp`` s, hold for the duration.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

from locust import LoadTestShape

from . import collector as llm_collector

llm_collector.register()


class _OptionShape(LoadTestShape):
    """Stops at ``--shape-duration``; before that each shape picks users and spawn rate."""

    abstract = True

    def option(self, name: str) -> Any:
        assert self.runner is not None
        return getattr(self.runner.environment.parsed_options, name)

    def tick(self) -> tuple[int, float] | None:
        users = int(self.option("shape_users"))
        if users < 1:
            raise ValueError(f"--shape-users must be >= 1, got {users}")
        t: float = self.get_run_time()  # type: ignore[no-untyped-call]
        if t >= float(self.option("shape_duration")):
            return None
        return self._stage(t, users, float(self.option("shape_spawn_rate")))

    @abstractmethod
    def _stage(self, t: float, users: int, spawn_rate: float) -> tuple[int, float]:
        """(users, spawn rate) ``t`` s into the run, from the baseline ``users``."""


class BurstShape(_OptionShape):
    abstract = True

    def _stage(self, t: float, users: int, spawn_rate: float) -> tuple[int, float]:
        start, length = float(self.option("burst_at")), float(self.option("burst_for"))
        if start <= t < start + length:
            return math.ceil(users * float(self.option("burst_multiplier"))), spawn_rate
        return users, spawn_rate


class StepShape(_OptionShape):
    abstract = True

    def _stage(self, t: float, users: int, spawn_rate: float) -> tuple[int, float]:
        step = int(t // float(self.option("step_every")))
        return users + step * int(self.option("step_users")), spawn_rate


class SpikeShape(_OptionShape):
    abstract = True

    def _stage(self, t: float, users: int, spawn_rate: float) -> tuple[int, float]:
        every, length = float(self.option("spike_every")), float(self.option("spike_for"))
        in_spike = t >= every and (t % every) < length
        target = math.ceil(users * float(self.option("spike_multiplier"))) if in_spike else users
        return target, float(target)  # a spike arrives at once


class SoakShape(_OptionShape):
    abstract = True

    def _stage(self, t: float, users: int, spawn_rate: float) -> tuple[int, float]:
        ramp = float(self.option("soak_ramp"))
        return users, (users / ramp if ramp > 0 else float(users))
