"""A backend plugin "installed" for a test: its module and a dist-info directory with
an ``aistack`` entry point, on a directory the child process gets on PYTHONPATH."""

from __future__ import annotations

import os
from pathlib import Path


def install_entry_point(site: Path, module_source: str, name: str = "mine") -> dict[str, str]:
    """A distribution ``NAME`` on ``site`` with ``[aistack] NAME = NAME_backend``: what
    ``pip install`` of a package declaring that entry point leaves behind. Returns the
    environment that puts ``site`` on the path."""
    site.mkdir()
    (site / f"{name}_backend.py").write_text(module_source)
    dist = site / f"{name}-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[aistack]\n{name} = {name}_backend\n")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}
