"""Fault specs (the ``x-mock-fault`` grammar) and the admin fault registry.

Grammar: ``mode[,key=value...]``, several faults separated by ``;``. See
docs/mock_llm.md for the table of modes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import ProfileError, parse_key_values

ERROR_STATUSES = (400, 401, 404, 408, 429, 500, 502, 503, 504)
FOREVER = math.inf

# mode -> (allowed keys, required keys)
_MODES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "status": (frozenset({"code", "retry_after", "message"}), frozenset({"code"})),
    "hang_headers": (frozenset(), frozenset()),
    "slow_headers": (frozenset({"seconds"}), frozenset({"seconds"})),
    "hang_first_token": (frozenset({"seconds"}), frozenset()),
    "stall": (frozenset({"after", "seconds", "ping"}), frozenset({"after"})),
    "cut": (frozenset({"after"}), frozenset({"after"})),
    "truncate": (frozenset({"after"}), frozenset({"after"})),
    "malformed": (frozenset({"at"}), frozenset({"at"})),
    "inband_error": (frozenset({"at", "message"}), frozenset({"at"})),
}


class FaultError(ProfileError):
    """A fault spec is invalid; the message names the part and the fix."""


@dataclass(frozen=True, slots=True)
class Faults:
    """Everything injected into one request (all optional, combined)."""

    text: str = ""
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    header_delay_s: float = 0.0  # slow_headers / hang_headers (inf)
    first_token_delay_s: float = 0.0  # hang_first_token (inf = forever)
    stall_after: int | None = None
    stall_s: float = FOREVER
    ping_s: float | None = None
    cut_after: int | None = None
    truncate_after: int | None = None
    malformed_at: int | None = None
    inband_error_at: int | None = None

    @property
    def any(self) -> bool:
        return bool(self.text)


NO_FAULTS = Faults()


def parse_faults(text: str) -> Faults:
    """Parse an ``x-mock-fault`` value; raise FaultError naming what is wrong."""
    fields: dict[str, Any] = {}
    for spec in text.split(";"):
        spec = spec.strip()
        if not spec:
            continue
        mode, _, rest = spec.partition(",")
        mode = mode.strip()
        if mode not in _MODES:
            raise FaultError(
                f"x-mock-fault: unknown mode {mode!r} in {spec!r}; valid modes: {', '.join(_MODES)}"
            )
        allowed, required = _MODES[mode]
        try:
            params = parse_key_values(rest, f"x-mock-fault {mode}")
        except ProfileError as exc:
            raise FaultError(str(exc)) from None
        for key in params:
            if key not in allowed:
                raise FaultError(
                    f"x-mock-fault: {mode} does not take {key!r}; "
                    f"it takes: {', '.join(sorted(allowed)) or 'no parameters'}"
                )
        for key in required:
            if key not in params:
                raise FaultError(f"x-mock-fault: {mode} needs {key}=... (in {spec!r})")
        _apply(mode, params, fields)
    if not fields:
        raise FaultError("x-mock-fault is empty; give a mode such as 'status,code=503'")
    return Faults(text=text.strip(), **fields)


def _apply(mode: str, params: Mapping[str, str], fields: dict[str, Any]) -> None:
    if mode == "status":
        code = _int(mode, "code", params["code"])
        if code not in ERROR_STATUSES:
            raise FaultError(f"x-mock-fault: status code={code} is not one of {ERROR_STATUSES}")
        fields["status"] = code
        if "retry_after" in params:
            fields["retry_after"] = _seconds(mode, "retry_after", params["retry_after"])
        if "message" in params:
            fields["message"] = params["message"]
    elif mode == "hang_headers":
        fields["header_delay_s"] = FOREVER
    elif mode == "slow_headers":
        fields["header_delay_s"] = _seconds(mode, "seconds", params["seconds"])
    elif mode == "hang_first_token":
        fields["first_token_delay_s"] = _seconds(mode, "seconds", params.get("seconds", "forever"))
    elif mode == "stall":
        fields["stall_after"] = _int(mode, "after", params["after"])
        fields["stall_s"] = _seconds(mode, "seconds", params.get("seconds", "forever"))
        if "ping" in params:
            ping = _seconds(mode, "ping", params["ping"])
            if not 0 < ping < FOREVER:
                raise FaultError(
                    "x-mock-fault: stall ping=... must be a positive number of seconds"
                )
            fields["ping_s"] = ping
    elif mode == "cut":
        fields["cut_after"] = _int(mode, "after", params["after"])
    elif mode == "truncate":
        fields["truncate_after"] = _int(mode, "after", params["after"])
    elif mode == "malformed":
        fields["malformed_at"] = _int(mode, "at", params["at"])
    elif mode == "inband_error":
        fields["inband_error_at"] = _int(mode, "at", params["at"])
        if "message" in params:
            fields["message"] = params["message"]


def _int(mode: str, key: str, raw: str) -> int:
    if not raw.isdigit():
        raise FaultError(f"x-mock-fault: {mode} {key}={raw!r} must be an integer >= 0")
    return int(raw)


def _seconds(mode: str, key: str, raw: str) -> float:
    if raw in ("forever", "inf"):
        return FOREVER
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise FaultError(f"x-mock-fault: {mode} {key}={raw!r} must be seconds >= 0 (or 'forever')")
    return value


@dataclass(slots=True)
class AdminFault:
    """A fault registered with ``POST /admin/faults``."""

    id: str
    faults: Faults
    remaining: int | None
    probability: float | None
    endpoints: tuple[str, ...] | None
    rng: random.Random

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fault": self.faults.text,
            "remaining": self.remaining,
            "probability": self.probability,
            "endpoints": list(self.endpoints) if self.endpoints is not None else None,
        }


class FaultRegistry:
    """Admin faults in registration order; the oldest matching one applies."""

    def __init__(self) -> None:
        self._faults: list[AdminFault] = []
        self._next_id = 1

    def add(self, body: Any) -> AdminFault:
        if not isinstance(body, dict):
            raise FaultError("POST /admin/faults: body must be a JSON object with a 'fault' key")
        unknown = set(body) - {"fault", "count", "probability", "seed", "endpoints"}
        if unknown:
            raise FaultError(
                f"POST /admin/faults: unknown key(s) {sorted(unknown)}; "
                "valid: fault, count, probability, seed, endpoints"
            )
        text = body.get("fault")
        if not isinstance(text, str):
            raise FaultError("POST /admin/faults: 'fault' must be a string like 'status,code=503'")
        faults = parse_faults(text)
        count = body.get("count")
        if count is not None and (
            not isinstance(count, int) or isinstance(count, bool) or count < 1
        ):
            raise FaultError(f"POST /admin/faults: count={count!r} must be an integer >= 1")
        probability = body.get("probability")
        if probability is not None and (
            not isinstance(probability, int | float)
            or isinstance(probability, bool)
            or not 0.0 <= probability <= 1.0
        ):
            raise FaultError(
                f"POST /admin/faults: probability={probability!r} must be a number in [0, 1]"
            )
        seed = body.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise FaultError(f"POST /admin/faults: seed={seed!r} must be an integer")
        endpoints = body.get("endpoints")
        if endpoints is not None and (
            not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints)
        ):
            raise FaultError(
                "POST /admin/faults: endpoints must be a list of paths, "
                "like ['/v1/chat/completions']"
            )
        fault = AdminFault(
            id=f"fault-{self._next_id}",
            faults=faults,
            remaining=count,
            probability=float(probability) if probability is not None else None,
            endpoints=tuple(endpoints) if endpoints is not None else None,
            rng=random.Random(seed),
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def pick(self, path: str) -> Faults | None:
        for fault in self._faults:
            if fault.endpoints is not None and path not in fault.endpoints:
                continue
            if fault.probability is not None and fault.rng.random() >= fault.probability:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault.faults
        return None

    def as_json(self) -> list[dict[str, Any]]:
        return [fault.as_json() for fault in self._faults]

    def clear(self) -> None:
        self._faults.clear()
