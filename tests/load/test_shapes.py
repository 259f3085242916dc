"""The load shapes' users and spawn rate over a run (Locust imported in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE = Path(__file__).resolve().parent / "shape_probe.py"
OPTIONS = {
    "shape_users": 2,
    "shape_duration": 10.0,
    "shape_spawn_rate": 5.0,
    "burst_at": 3.0,
    "burst_for": 2.0,
    "burst_multiplier": 2.5,
    "step_every": 4.0,
    "step_users": 3,
    "spike_every": 4.0,
    "spike_for": 1.0,
    "spike_multiplier": 3.0,
    "soak_ramp": 4.0,
}
TIMES = [0.0, 2.9, 3.0, 4.9, 5.0, 8.0, 9.99, 10.0]


def ticks(**overrides: object) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(PROBE), json.dumps({**OPTIONS, **overrides}), json.dumps(TIMES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_each_shape_over_a_run_then_stop_at_the_duration() -> None:
    found = ticks()
    # Burst: 2 users; 2 x 2.5 rounded up during [3 s, 5 s).
    assert found["BurstShape"] == [
        [2, 5.0], [2, 5.0], [5, 5.0], [5, 5.0], [2, 5.0], [2, 5.0], [2, 5.0], None
    ]  # fmt: skip
    # Step: 3 more users every 4 s.
    assert found["StepShape"] == [
        [2, 5.0], [2, 5.0], [2, 5.0], [5, 5.0], [5, 5.0], [8, 5.0], [8, 5.0], None
    ]  # fmt: skip
    # Spike: 2 x 3 for 1 s every 4 s (not at 0 s), spawned at once.
    assert found["SpikeShape"] == [
        [2, 2.0], [2, 2.0], [2, 2.0], [6, 6.0], [2, 2.0], [6, 6.0], [2, 2.0], None
    ]  # fmt: skip
    # Soak: the baseline, ramped over 4 s.
    assert found["SoakShape"] == [[2, 0.5]] * 7 + [None]


def test_soak_without_a_ramp_spawns_at_once() -> None:
    assert ticks(soak_ramp=0.0)["SoakShape"] == [[2, 2.0]] * 7 + [None]


def test_too_few_users_is_an_error_naming_the_option() -> None:
    assert ticks(shape_users=0) == {"error": "--shape-users must be >= 1, got 0"}
