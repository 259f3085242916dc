"""Parsers for setting values: a raw value (str from the command line, the environment or
an ini file; native from TOML or YAML) becomes the field's value, or ``ValueError`` says
what was expected. ``base`` anchors relative paths.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

# A parser turns a raw value (str from CLI/env/ini, native from TOML/YAML) into the
# field's value, or raises ValueError with what it expected.
Parser = Callable[[object, Path], object]


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_bool(raw: object, _base: Path) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE + _FALSE:
        return raw.strip().lower() in _TRUE
    raise ValueError(f"expected a boolean: one of {', '.join(_TRUE + _FALSE)}")


def parse_seconds(raw: object, _base: Path) -> float:
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip().removesuffix("s"))
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise ValueError("expected a number of seconds > 0, e.g. 1 or 2.5")
    return value


def require_str(raw: object, what: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"expected {what}")
    return raw.strip()


def url_parser(schemes: tuple[str, ...], example: str) -> Parser:
    what = f"a {' or '.join(s + '://' for s in schemes)} URL like {example}"

    def parse(raw: object, _base: Path) -> str:
        text = require_str(raw, what)
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"expected {what} ({exc})") from None
        if parts.scheme not in schemes or not (parts.netloc or parts.scheme == "unix"):
            raise ValueError(f"expected {what}")
        if parts.scheme == "unix" and not parts.path:
            raise ValueError(f"expected {what}")
        if parts.scheme in ("redis", "rediss") and not re.fullmatch(r"/?\d*", parts.path):
            # As redis-py's from_url: the path, if any, is the database number.
            raise ValueError(f"expected {what} (the path is the database number)")
        return text.rstrip("/") if parts.scheme in ("http", "https") else text

    return parse


def backend_name_parser(builtins: tuple[str, ...]) -> Parser:
    """The form of a backend's name only: whether a plugin answers for it is known when
    the plugins are (stack/backend_plugins.py), which say then which names are."""

    def parse(raw: object, _base: Path) -> str:
        if isinstance(raw, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", raw.strip()):
            return raw.strip()
        raise ValueError(f"expected one of {', '.join(builtins)} or a plugin's backend name")

    return parse


def choice_parser(choices: tuple[str, ...]) -> Parser:
    def parse(raw: object, _base: Path) -> str:
        if isinstance(raw, str) and raw.strip() in choices:
            return raw.strip()
        raise ValueError(f"expected one of {', '.join(choices)}")

    return parse


def parse_path(raw: object, base: Path) -> Path:
    path = Path(require_str(raw, "a file or directory path")).expanduser()
    return path if path.is_absolute() else base / path


def parse_optional_path(raw: object, base: Path) -> Path | None:
    if isinstance(raw, str) and not raw.strip():
        return None
    return parse_path(raw, base)


def parse_stack_file(raw: object, base: Path) -> Path | None:
    """An existing file, checked now so a typo stops the run before anything starts."""
    path = parse_optional_path(raw, base)
    if path is not None and not path.is_file():
        why = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise ValueError(
            f"{path} {why}; point it at a stack file (docs/configuration.md, Stack files) "
            "or leave it unset for the reference stack"
        )
    return path


def parse_optional_str(raw: object, _base: Path) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return require_str(raw, "a command name or path")


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_env_names(raw: object, _base: Path) -> str:
    what = "environment variable names, comma-separated, e.g. OPENAI_API_KEY"
    names = [name.strip() for name in require_str(raw, what).split(",")]
    if not all(_ENV_NAME.fullmatch(name) for name in names):
        raise ValueError(f"expected {what}")
    return ",".join(names)


_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*")


def parse_image(raw: object, _base: Path) -> str:
    what = "a Docker image reference like redis:7-alpine or ghcr.io/owner/name:tag"
    text = require_str(raw, what)
    if not _IMAGE.fullmatch(text):
        raise ValueError(f"expected {what}")
    return text


# The schemes of the settings that are HTTP URLs.
HTTP_SCHEMES = ("http", "https")
