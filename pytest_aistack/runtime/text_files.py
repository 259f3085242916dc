"""Reading the YAML files users point the harness at, refusing what is not UTF-8 text.

A stack file or profile that is binary garbage (a wrong path, an archive, a file saved
as UTF-16) would otherwise surface as a ``UnicodeDecodeError`` traceback, or as a YAML
error about "special characters" at position 0. :func:`read_utf8` says which file, what
is wrong with its bytes and what to do::

    /p/stack.yaml: not a text file: it is UTF-16 text (byte-order mark FF FE); a stack
    file is UTF-8 YAML: save it as UTF-8 (docs/configuration.md, "Stack files")
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

# Byte-order marks of the encodings an editor may save "text" in; UTF-8's is accepted.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_utf8(path: Path, *, what: str, fix: str, error: Callable[[str], Exception]) -> str:
    """The text of ``path``; ``error(message)`` when its bytes are not UTF-8 text.

    ``what`` names the file's role ("a stack file"), ``fix`` says what to do. Errors of
    the read itself (``OSError``: missing, a directory, no permission) are the caller's.
    """
    data = path.read_bytes()
    problem = not_text(data)
    if problem is not None:
        raise error(f"{path}: not a text file: {problem}; {what} is UTF-8 YAML: {fix}")
    return data.decode("utf-8-sig")


def not_text(data: bytes) -> str | None:
    """What makes ``data`` not UTF-8 text, or None when it is."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return f"it is {encoding} text (byte-order mark {bom.hex(' ').upper()})"
    nul = data.find(b"\0")
    if nul >= 0:
        return f"it holds NUL bytes (the first at byte {nul}): binary data, or UTF-16/32 text"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start} (0x{data[exc.start]:02x}) is not UTF-8, so it is binary data"
    return None
