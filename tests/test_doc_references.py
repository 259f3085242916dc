"""Every module, name and file of the package that the docs, docstrings and comments
mention exists: a move or a rename that leaves a stale mention fails here.

Checked without importing (a locustfile module would patch this process with gevent):
a dotted ``pytest_aistack.x.y.Name`` must be a module file or package, optionally
followed by a name its top level defines or imports; a ``pytest_aistack/...`` path must
exist. CHANGELOG.md is history and may name what is gone.
"""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THIS_FILE = Path(__file__).resolve().relative_to(REPO).as_posix()
DOTTED = re.compile(r"\bpytest_aistack(?:\.\w+)+")
PATH = re.compile(r"\bpytest_aistack/[\w/.-]*\w")
# Names the tests use on purpose because they do not exist.
ABSENT_ON_PURPOSE = ("pytest_aistack.no_such_area", "pytest_aistack.NoSuchThing")


def tracked_text_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    files = []
    for name in out:
        path = REPO / name
        # This file's examples name what is not there on purpose.
        if name in ("CHANGELOG.md", THIS_FILE) or not path.is_file():
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def module_file(dotted: str) -> Path | None:
    base = REPO.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def top_level_names(path: Path) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.If):  # if TYPE_CHECKING: imports
            for inner in node.body:
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    names.update((a.asname or a.name).split(".")[0] for a in inner.names)
    if path.name == "__init__.py":  # submodules are attributes of their package
        names.update(p.stem for p in path.parent.iterdir() if p.suffix == ".py" or p.is_dir())
    return frozenset(names)


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for length in range(len(parts), 0, -1):
        path = module_file(".".join(parts[:length]))
        if path is not None:
            rest = parts[length:]
            # One name after the module (a class's attribute is not checked).
            return not rest or rest[0].startswith("__") or rest[0] in top_level_names(path)
    return False


def stale_mentions() -> list[str]:
    found = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO)
        for match in DOTTED.finditer(text):
            name = match.group(0)
            if not name.startswith(ABSENT_ON_PURPOSE) and not resolves(name):
                found.append(f"{where}: {name}")
        for match in PATH.finditer(text):
            if not (REPO / match.group(0)).exists():
                found.append(f"{where}: {match.group(0)}")
    return sorted(set(found))


def test_every_mention_of_the_package_exists() -> None:
    assert stale_mentions() == []


def test_a_stale_mention_is_found() -> None:
    assert resolves("pytest_aistack.resilience.records.ScenarioRecord")
    assert resolves("pytest_aistack.cli")
    assert not resolves("pytest_aistack.config")  # moved to pytest_aistack.settings
    assert not resolves("pytest_aistack.resilience.records.NoSuchRecord")
