"""Request bodies decoded the way Go's ``encoding/json`` decodes them into structs.

Upstream decodes each body into a typed Go struct (``api.go``, ``toxic_collection.go``),
which fixes what clients may send: keys match fields case-insensitively, unknown keys
are ignored, ``null`` leaves a field unchanged, only the first JSON value is read,
integers must be integer literals that fit, and a wrong type is reported as
``json: cannot unmarshal <json type> into Go struct field <Struct>.<field> of type
<go type>``. This module reproduces those rules so that clients see the same accepts,
rejects and (for the common cases) the same messages.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Literal

from .errors import BAD_REQUEST_BODY, ApiError

GoKind = Literal["string", "bool", "int64", "int", "float32"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_FLOAT32_MAX = 3.4028234663852886e38


class FloatLiteral(str):
    """A JSON number written with a fraction or exponent, kept as its source text."""


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, FloatLiteral)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _number_text(value: object) -> str:
    return str(value)


def parse_body(raw: bytes) -> object:
    """The first JSON value of ``raw``; errors are ``400 bad request body: <reason>``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise BAD_REQUEST_BODY.joined("EOF")
    decoder = json.JSONDecoder(parse_float=FloatLiteral, parse_constant=_reject_constant)
    try:
        value, _end = decoder.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise BAD_REQUEST_BODY.joined(_go_syntax_message(stripped, exc)) from None
    except ValueError as exc:  # NaN / Infinity literals are not JSON
        raise BAD_REQUEST_BODY.joined(str(exc)) from None
    return value


def _reject_constant(name: str) -> object:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _go_syntax_message(text: str, exc: json.JSONDecodeError) -> str:
    if exc.pos >= len(text):
        return "unexpected EOF"
    char = text[exc.pos]
    if exc.pos == 0:
        return f"invalid character '{char}' looking for beginning of value"
    return f"invalid character '{char}' ({exc.msg.lower()})"


def _mismatch(value: object, struct: str, field: str, kind: GoKind) -> ApiError:
    json_type = _json_type(value)
    if json_type == "number":
        json_type = f"number {_number_text(value)}"
    return BAD_REQUEST_BODY.joined(
        f"json: cannot unmarshal {json_type} into Go struct field {struct}.{field} of type {kind}"
    )


def convert(value: object, struct: str, field: str, kind: GoKind) -> object:
    """``value`` as the Go type ``kind``, or the error Go would report."""
    if kind == "string":
        if isinstance(value, str) and not isinstance(value, FloatLiteral):
            return value
    elif kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind in ("int64", "int"):
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and _INT64_MIN <= value <= _INT64_MAX
        ):
            return value
    elif kind == "float32":
        number: float | None = None
        if isinstance(value, FloatLiteral) or (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            number = float(value)
        if number is not None and math.isfinite(number) and abs(number) <= _FLOAT32_MAX:
            return number
    raise _mismatch(value, struct, field, kind)


def decode_struct(
    value: object,
    struct: str,
    fields: Mapping[str, GoKind],
    into: dict[str, object],
) -> None:
    """Merge a decoded JSON object into ``into`` following Go's struct decoding rules.

    The first type error is raised after the whole object was looked at, as Go does;
    fields that decoded fine before it are still merged (callers discard ``into`` on error).
    """
    if value is None:
        return
    if not isinstance(value, dict):
        raise BAD_REQUEST_BODY.joined(
            f"json: cannot unmarshal {_json_type(value)} into Go value of type {struct}"
        )
    first_error: ApiError | None = None
    lowered = {name.lower(): name for name in fields}
    for key, item in value.items():
        field = key if key in fields else lowered.get(key.lower())
        if field is None or item is None:
            continue
        try:
            into[field] = convert(item, struct, field, fields[field])
        except ApiError as exc:
            if first_error is None:
                first_error = exc
    if first_error is not None:
        raise first_error


def lookup(value: Mapping[str, object], key: str) -> object:
    """The value of ``key`` matched case-insensitively, as Go does; None when absent."""
    if key in value:
        return value[key]
    for name, item in value.items():
        if name.lower() == key:
            return item
    return None


def dumps(value: object) -> bytes:
    """Compact JSON, numbers printed as Go prints them (``1`` not ``1.0``)."""
    return json.dumps(_go_numbers(value), separators=(",", ":")).encode()


def _go_numbers(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {key: _go_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_go_numbers(item) for item in value]
    return value
