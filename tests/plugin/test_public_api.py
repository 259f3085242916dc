"""The package's public names are exactly ``__all__``."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types

import pytest_aistack


def test_all_matches_public_names() -> None:
    public = {
        name
        for name, value in vars(pytest_aistack).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public.discard("annotations")  # from __future__ import
    assert sorted(pytest_aistack.__all__) == sorted(public | {"__version__"})
    for name in pytest_aistack.__all__:
        assert getattr(pytest_aistack, name) is not None


def test_import_is_cheap() -> None:
    # Child services import the package: it must not pull in pytest or httpx.
    code = "import sys, pytest_aistack; print(sorted({'pytest', 'httpx'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_version_matches_the_distribution() -> None:
    assert pytest_aistack.__version__ == importlib.metadata.version("pytest-aistack")
