"""A marker's arguments as a keyword-only, frozen options object (pytest-httpx's model).

:func:`options_from_marker` is the one place a marker's ``args``/``kwargs`` are read:
a positional argument, an unknown keyword or a value of the wrong type is a
``TypeError`` that names the marker, the offending argument and the accepted ones.
The options classes of the ``requires_*`` markers live here too.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pytest

OptionsT = TypeVar("OptionsT")

# How a TypeError names the values a field accepts (None is always allowed where typed).
_ACCEPTED_WORDING: dict[type, str] = {str: "a string", bool: "True or False"}


@dataclass(frozen=True, kw_only=True)
class NoOptions:
    """The marker takes no arguments."""


@dataclass(frozen=True, kw_only=True)
class ModelOptions:
    """``model=``: the server must also list this model id."""

    model: str | None = None


@dataclass(frozen=True, kw_only=True)
class CloudOptions:
    """``provider=``: a known provider's key variable and API; ``key_env=`` overrides the key."""

    provider: str | None = None
    key_env: str | None = None


def accepted_arguments(options: type[Any]) -> str:
    """``model=`` or ``provider=, key_env=`` or ``no arguments``, for messages."""
    names = [field.name for field in dataclasses.fields(options)]
    return ", ".join(f"{name}=" for name in names) or "no arguments"


def options_from_marker(mark: pytest.Mark, options: type[OptionsT]) -> OptionsT:
    """``options(**mark.kwargs)``, or a ``TypeError`` explaining the misuse of ``mark``."""
    accepted = {field.name for field in dataclasses.fields(options)}  # type: ignore[arg-type]
    if mark.args:
        raise TypeError(
            f"@pytest.mark.{mark.name} takes keyword arguments only, got positional "
            f"{', '.join(repr(arg) for arg in mark.args)}; accepted: {accepted_arguments(options)}"
        )
    unknown = sorted(set(mark.kwargs) - accepted)
    if unknown:
        raise TypeError(
            f"@pytest.mark.{mark.name} got unexpected keyword argument(s) "
            f"{', '.join(unknown)}; accepted: {accepted_arguments(options)}"
        )
    hints = typing.get_type_hints(options)
    for key, value in mark.kwargs.items():
        allowed = _allowed_types(hints[key])
        if not isinstance(value, allowed):
            wording = next(_ACCEPTED_WORDING[kind] for kind in allowed if kind is not type(None))
            raise TypeError(
                f"@pytest.mark.{mark.name}({key}=...) expects {wording}, "
                f"got {type(value).__name__}: {value!r}"
            )
    return options(**mark.kwargs)


def _allowed_types(hint: Any) -> tuple[type, ...]:
    """``str | None`` -> ``(str, NoneType)``; ``bool`` -> ``(bool,)``."""
    if isinstance(hint, types.UnionType):
        return typing.get_args(hint)
    return (hint,)
