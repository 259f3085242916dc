"""Tick each load shape at given run times, in a subprocess (importing Locust
monkey-patches the process with gevent, which pytest's must not be).

Usage: ``shape_probe.py OPTIONS_JSON TIMES_JSON``; prints one JSON object,
shape name -> the ticks (``[users, spawn_rate]`` or null), or ``{"error": message}``.
"""

from __future__ import annotations

import functools
import json
import sys
from argparse import Namespace
from types import SimpleNamespace
from typing import Any, cast

from locust import LoadTestShape

from pytest_aistack.load.shapes import BurstShape, SoakShape, SpikeShape, StepShape


# Concrete, as a locustfile makes them: the library's classes are abstract for Locust.
class Burst(BurstShape):
    pass


class Step(StepShape):
    pass


class Spike(SpikeShape):
    pass


class Soak(SoakShape):
    pass


def run_times(shape: LoadTestShape, times: list[float]) -> list[object]:
    shape.runner = cast(Any, SimpleNamespace(environment=SimpleNamespace(parsed_options=options)))
    found: list[object] = []
    for t in times:
        shape.get_run_time = functools.partial(float, t)  # type: ignore[method-assign]
        found.append(shape.tick())
    return found


SHAPES: dict[str, type[LoadTestShape]] = {
    "BurstShape": Burst,
    "StepShape": Step,
    "SpikeShape": Spike,
    "SoakShape": Soak,
}
options = Namespace(**json.loads(sys.argv[1]))
ticks: dict[str, object] = {}
try:
    for name, shape_class in SHAPES.items():
        shape = shape_class()
        ticks[name] = run_times(shape, json.loads(sys.argv[2]))
except ValueError as exc:
    ticks = {"error": str(exc)}
print(json.dumps(ticks))
