"""Instance settings and the per-request timing profile (``x-mock-profile``)."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .behaviours import BEHAVIOURS

JitterDist = Literal["uniform", "normal", "exponential"]
JITTER_DISTS: tuple[str, ...] = ("uniform", "normal", "exponential")


class ProfileError(ValueError):
    """A timing profile key or value is invalid; the message names it."""


@dataclass(frozen=True, slots=True)
class OutputLength:
    """How many content tokens a response has: fixed, ``max_tokens``, or uniform A..B."""

    kind: Literal["fixed", "max", "uniform"] = "fixed"
    low: int = 16
    high: int = 16

    @classmethod
    def parse(cls, text: str) -> OutputLength:
        text = text.strip()
        if text == "max":
            return cls("max", 0, 0)
        if text.startswith("uniform:"):
            parts = text.split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                low, high = int(parts[1]), int(parts[2])
                if 0 < low <= high:
                    return cls("uniform", low, high)
        elif text.isdigit() and int(text) > 0:
            return cls("fixed", int(text), int(text))
        raise ProfileError(
            f"output_tokens={text!r} is invalid; use a positive integer N, 'max' "
            "(the request's max_tokens) or 'uniform:A:B' with 0 < A <= B"
        )

    def draw(self, rng: random.Random, max_tokens: int | None) -> tuple[int, bool]:
        """Return (tokens, hit_max_tokens)."""
        if self.kind == "max":
            return (max_tokens if max_tokens is not None else 16), max_tokens is not None
        wanted = self.low if self.kind == "fixed" else rng.randint(self.low, self.high)
        if max_tokens is not None and max_tokens < wanted:
            return max_tokens, True
        return wanted, False

    def __str__(self) -> str:
        if self.kind == "max":
            return "max"
        if self.kind == "uniform":
            return f"uniform:{self.low}:{self.high}"
        return str(self.low)


@dataclass(frozen=True, slots=True)
class TimingProfile:
    ttft_ms: float = 50.0
    itl_ms: float = 10.0
    jitter_ms: float = 0.0
    jitter: JitterDist = "uniform"
    output_tokens: OutputLength = field(default_factory=OutputLength)
    prefill_us_per_token: float = 0.0
    seed: int | None = None

    def with_overrides(self, overrides: Mapping[str, Any]) -> TimingProfile:
        """Apply ``key=value`` overrides (strings or JSON values); ProfileError names a bad one."""
        changes: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key in ("ttft_ms", "itl_ms", "jitter_ms", "prefill_us_per_token"):
                changes[key] = _non_negative_float(key, raw)
            elif key == "jitter":
                if str(raw) not in JITTER_DISTS:
                    raise ProfileError(f"jitter={raw!r} is invalid; use one of {JITTER_DISTS}")
                changes[key] = str(raw)
            elif key == "output_tokens":
                changes[key] = OutputLength.parse(str(raw))
            elif key == "seed":
                try:
                    changes[key] = int(str(raw))
                except ValueError:
                    raise ProfileError(f"seed={raw!r} is invalid; use an integer") from None
            else:
                raise ProfileError(
                    f"unknown profile key {key!r}; valid keys: ttft_ms, itl_ms, jitter_ms, "
                    "jitter, output_tokens, prefill_us_per_token, seed"
                )
        return dataclasses.replace(self, **changes) if changes else self

    def token_offsets(self, rng: random.Random, prompt_tokens: int) -> Iterator[float]:
        """Seconds from admission to each token, endless; absolute offsets, so no drift."""
        offset = (self.ttft_ms + self.prefill_us_per_token * prompt_tokens / 1000.0) / 1000.0
        itl = self.itl_ms / 1000.0
        spread = self.jitter_ms / 1000.0
        yield offset
        if spread == 0.0:
            step = 1
            while True:
                yield offset + step * itl
                step += 1
        draw = _jitter_draw(self.jitter, rng, spread)
        while True:
            offset += max(0.0, itl + draw())
            yield offset


def _jitter_draw(dist: str, rng: random.Random, spread: float) -> Any:
    if dist == "normal":
        return lambda: rng.gauss(0.0, spread)
    if dist == "exponential":
        return lambda: rng.expovariate(1.0 / spread)
    return lambda: rng.uniform(-spread, spread)


def _non_negative_float(key: str, raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ProfileError(f"{key}={raw!r} is invalid; use a number >= 0") from None
    if not math.isfinite(value) or value < 0:
        raise ProfileError(f"{key}={raw!r} is invalid; use a number >= 0")
    return value


def parse_key_values(text: str, what: str) -> dict[str, str]:
    """``a=1,b=2`` -> {"a": "1", "b": "2"}; a bare word maps to ""."""
    result: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not key or (sep and not value.strip()):
            raise ProfileError(f"{what}: {part!r} is not 'key=value'")
        result[key] = value.strip()
    return result


def parse_profile(value: Any) -> dict[str, Any]:
    """A profile from the header string or the body field (string or JSON object)."""
    if isinstance(value, str):
        pairs: dict[str, Any] = parse_key_values(value, "x-mock-profile")
        for key, val in pairs.items():
            if val == "":
                raise ProfileError(f"x-mock-profile: {key!r} needs a value ({key}=...)")
        return pairs
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    raise ProfileError("mock_profile must be a string 'key=value,...' or a JSON object")


@dataclass(frozen=True, slots=True)
class MockConfig:
    """Settings of one mock instance (the CLI flags, see docs/mock_llm.md)."""

    name: str = "mock-llm"
    models: tuple[str, ...] = ("mock-model",)
    timing: TimingProfile = field(default_factory=TimingProfile)
    max_concurrency: int = 0
    queue_depth: int = 64
    queue_timeout_s: float = 10.0
    retry_after_s: float = 1.0
    warmup_s: float = 0.0
    drain_timeout_s: float = 30.0
    admin_token: str = ""
    max_body_bytes: int = 1024 * 1024
    embedding_dim: int = 32
    max_recorded_requests: int = 100_000
    # Per-token send times in each request's record (GET /admin/stats "token_times"):
    # off by default, they cost 8 bytes per token per kept record.
    record_token_times: bool = False
    # Sub-millisecond timers (the raw server spins to each deadline): for calibration
    # runs with the mock on a core of its own; see docs/mock_llm.md.
    precise_timers: bool = False
    max_model_len: int = 32768
    # Input limits (0 = no limit): see limits.py. The embeddings defaults are Hugging
    # Face TEI's (max_client_batch_size 32) and a 10,000-character input.
    max_messages: int = 0
    max_tokens_cap: int = 0
    max_embedding_inputs: int = 32
    max_embedding_chars: int = 10_000
    # An upstream dependency (redis:// or http://) called before each generation request
    # through a circuit breaker (dependency.py); "" = none.
    dependency_url: str = ""
    dependency_name: str = ""
    dependency_timeout_s: float = 0.5
    breaker_failures: int = 3  # consecutive failures that open the breaker; 0 = no breaker
    breaker_open_s: float = 5.0  # open this long, then half-open (one trial call)
    # Hardening behaviours switched off (behaviours.py), for the conformance suite's
    # proof that each of its checks fails without the behaviour it checks.
    disabled: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("models is empty; serve at least one model name (CLI: --model NAME)")
        minimums = {
            "max_concurrency": 0, "queue_depth": 0, "max_recorded_requests": 0,
            "queue_timeout_s": 0, "retry_after_s": 0, "warmup_s": 0, "drain_timeout_s": 0,
            "embedding_dim": 1, "max_body_bytes": 1, "max_messages": 0, "max_tokens_cap": 0,
            "max_embedding_inputs": 0, "max_embedding_chars": 0, "breaker_failures": 0,
            "dependency_timeout_s": 0.001, "breaker_open_s": 0,
        }  # fmt: skip
        for key, minimum in minimums.items():
            value = getattr(self, key)
            if value < minimum:
                flag = "--" + key.replace("_", "-")
                raise ValueError(f"{key}={value!r} must be >= {minimum} (CLI: {flag})")
        unknown = sorted(self.disabled - set(BEHAVIOURS))
        if unknown:
            raise ValueError(
                f"disabled={', '.join(unknown)} is not a behaviour; known: "
                f"{', '.join(BEHAVIOURS)} (CLI: --disable NAME)"
            )
        if self.dependency_url and not self.dependency_url.startswith(("redis://", "http://")):
            raise ValueError(
                f"dependency_url={self.dependency_url!r} must start with redis:// or http:// "
                "(CLI: --dependency-url)"
            )
