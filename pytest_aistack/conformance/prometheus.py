"""Read samples from a Prometheus text exposition (format 0.0.4), enough for the checks.

``name{label="value",...} number [timestamp]`` lines; comments and blank lines are
skipped. A metric is matched by its full name or by a name suffix (``state_metric:
circuit_breaker_state`` matches ``mock_llm_circuit_breaker_state``), so a profile
need not know a server's metric prefix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class MetricSample:
    name: str
    labels: Mapping[str, str]
    value: float


def parse_samples(text: str) -> list[MetricSample]:
    samples = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        name, labels, value = match.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        found = {
            k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(labels or "")
        }
        samples.append(MetricSample(name, found, number))
    return samples


def find_value(samples: list[MetricSample], metric: str, labels: Mapping[str, str]) -> float | None:
    """The value of the first sample named ``metric`` (or ``*_metric``) with ``labels``."""
    for sample in samples:
        if sample.name != metric and not sample.name.endswith("_" + metric):
            continue
        if all(sample.labels.get(k) == v for k, v in labels.items()) and not math.isnan(
            sample.value
        ):
            return sample.value
    return None
