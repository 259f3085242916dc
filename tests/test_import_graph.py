"""The package's import graph: no two modules import each other, and no longer cycle.

Every import counts, also those under ``TYPE_CHECKING`` and inside functions: a pair
that needs each other is one concern split in two, or a shared piece living in the
wrong one of them. A submodule importing its own package's ``__init__`` (which imports
the submodule back) is such a pair too.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest_aistack

PACKAGE_DIR = Path(pytest_aistack.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, name: str) -> set[str]:
    """Every dotted name an import statement in ``path`` mentions (module and module.attr)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}
    return {
        name: {m for m in imported_names(path, name) if m in paths and m != name}
        for name, path in paths.items()
    }


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "pytest_aistack.plugin" in graph
    assert "pytest_aistack.settings" in graph["pytest_aistack.plugin"]


def test_no_two_modules_import_each_other() -> None:
    graph = import_graph()
    pairs = sorted(
        {tuple(sorted((a, b))) for a, targets in graph.items() for b in targets if a in graph[b]}
    )
    assert pairs == [], "modules importing each other: " + "; ".join(
        f"{a} <-> {b}" for a, b in pairs
    )


def test_no_import_cycle_of_any_length() -> None:
    # Imports flow one way (plugin -> areas -> shared pieces); a cycle through three
    # modules hides the same tangle a two-module pair shows.
    try:
        tuple(graphlib.TopologicalSorter(import_graph()).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_nothing_imports_the_plugin() -> None:
    # DESIGN.md: imports flow from the pytest wiring to the areas, never back, so the
    # areas work outside pytest (``aistack up``, child services, locustfiles).
    graph = import_graph()
    importers = sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        if not name.startswith("pytest_aistack.plugin")
        for target in targets
        if target.startswith("pytest_aistack.plugin")
    )
    assert importers == []


def test_folders_are_layered() -> None:
    # One level up: the folders (concerns) import each other without a cycle too, so
    # each can be read, tested and changed standing only on the ones below it.
    folders: dict[str, set[str]] = {}
    for name, targets in import_graph().items():
        here = name.split(".")[1] if "." in name else ""
        for target in targets:
            there = target.split(".")[1] if "." in target else ""
            if here != there:
                folders.setdefault(here, set()).add(there)
    assert "stack" in folders["plugin"]
    try:
        tuple(graphlib.TopologicalSorter(folders).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"folders in a cycle: {' -> '.join(exc.args[1])}") from None
