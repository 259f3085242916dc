"""The package's public names are exactly ``__all__``."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import pytest_aistack

# Loaded on first use; LLMUser imports Locust (gevent), so it is checked in a child.
LAZY = set(pytest_aistack._LAZY)


def test_all_matches_public_names() -> None:
    eager = {
        name
        for name, value in vars(pytest_aistack).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    eager -= {"annotations", "TYPE_CHECKING", "Any", "importlib"}  # the module's own imports
    assert sorted(pytest_aistack.__all__) == sorted(eager | LAZY | {"__version__"})
    assert set(dir(pytest_aistack)) >= set(pytest_aistack.__all__)


def test_every_public_name_resolves_from_the_package() -> None:
    # What the README imports from pytest_aistack works, each name the object its
    # module defines (a child process: LLMUser brings in Locust and gevent).
    code = (
        "import importlib, pytest_aistack as p\n"
        "for n in p.__all__:\n"
        "    v = getattr(p, n)\n"
        "    assert v is not None, n\n"
        "    if n in p._LAZY: assert v is getattr(importlib.import_module(p._LAZY[n]), n), n\n"
        "print(len(p.__all__))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(len(pytest_aistack.__all__))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        pytest_aistack.NoSuchThing  # noqa: B018


def test_import_is_cheap() -> None:
    # Child services import the package: it must not pull in pytest or httpx.
    code = "import sys, pytest_aistack; print(sorted({'pytest', 'httpx'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_version_matches_the_distribution() -> None:
    assert pytest_aistack.__version__ == importlib.metadata.version("pytest-aistack")


def test_the_readme_imports_from_the_package_itself() -> None:
    # Users copy the README's examples: each name they import comes from
    # ``pytest_aistack`` directly and is public (deeper module paths may move).
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    imported: dict[str, set[str]] = {}
    for block in blocks:
        for node in ast.walk(ast.parse(textwrap.dedent(block))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "pytest_aistack"
            ):
                imported.setdefault(node.module or "", set()).update(a.name for a in node.names)
    assert imported, "the README shows no import of pytest_aistack"
    assert set(imported) == {"pytest_aistack"}, imported
    assert imported["pytest_aistack"] <= set(pytest_aistack.__all__)
