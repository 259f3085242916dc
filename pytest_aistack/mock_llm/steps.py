"""Schedules of a streamed response: absolute deadlines, faults applied."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from .content import SSE_PING, StreamFormat
from .faults import Faults
from .plan import CUT, DATA, HANG, Step


def stream_steps(
    t0: float,
    offsets: Iterator[float],
    tokens: int,
    fmt: StreamFormat,
    faults: Faults,
    finish: bytes,
    error_message: str,
) -> Iterator[Step]:
    """Steps of one stream; ``t0`` is admission (monotonic), ``offsets`` seconds from it.

    The fault position ``i`` counts content tokens already sent; ``i == tokens`` is the
    point just before the finish chunk, so ``cut,after=<all>`` drops only the end.
    """
    if not faults.any:
        # The hot path (every benchmark stream): no fault checks per token.
        token = fmt.token
        deadline = t0
        for index, offset in zip(range(tokens), offsets, strict=False):
            deadline = t0 + offset
            yield (deadline, token(index), 1, DATA)
        yield (deadline, finish, 0, DATA)
        return
    shift = faults.first_token_delay_s
    if math.isinf(shift):
        yield (t0, b"", 0, HANG)
        return
    previous = t0  # when the last thing was sent
    for index in range(tokens + 1):
        if index == faults.stall_after:
            stall = faults.stall_s
            if faults.ping_s is not None and fmt.supports_ping:
                for k in itertools.count(1):
                    at = previous + k * faults.ping_s
                    if at >= previous + stall:
                        break
                    yield (at, SSE_PING, 0, DATA)
            if math.isinf(stall):
                yield (previous, b"", 0, HANG)
                return
            shift += stall
        if index == faults.cut_after:
            yield (previous, b"", 0, CUT)
            return
        if index == faults.truncate_after:
            return
        if index == tokens:
            break
        deadline = t0 + next(offsets) + shift
        if index == faults.inband_error_at:
            yield (deadline, fmt.inband_error(error_message), 0, DATA)
            return
        if index == faults.malformed_at:
            yield (deadline, fmt.malformed(), 0, DATA)
        else:
            yield (deadline, fmt.token(index), 1, DATA)
        previous = deadline
    yield (previous, finish, 0, DATA)


def planned_outcome(faults: Faults, tokens: int) -> str:
    """What the response will look like at its end, if the client stays."""

    def fires(at: int | None) -> bool:
        return at is not None and at <= tokens

    # (position, order stream_steps checks them in, outcome)
    candidates: list[tuple[int, int, str]] = []
    if fires(faults.cut_after):
        candidates.append((faults.cut_after or 0, 0, "cut"))
    if fires(faults.truncate_after):
        candidates.append((faults.truncate_after or 0, 1, "truncated"))
    if faults.inband_error_at is not None and faults.inband_error_at < tokens:
        candidates.append((faults.inband_error_at, 2, "inband_error"))
    if candidates:
        return min(candidates)[2]
    if faults.malformed_at is not None and faults.malformed_at < tokens:
        return "malformed"
    return "completed"
