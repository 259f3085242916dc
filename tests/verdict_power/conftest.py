"""benchmarks/ is no installed package: its modules are imported as ``benchmarks.*`` from
the repository's folder, without putting the repository root on sys.path (that made
reference_stack importable a second way and broke pytester's in-process runs with a
PytestAssertRewriteWarning)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if "benchmarks" not in sys.modules:
    package = types.ModuleType("benchmarks", "the repository's benchmarks/ folder")
    package.__path__ = [str(BENCHMARKS)]
    sys.modules["benchmarks"] = package
