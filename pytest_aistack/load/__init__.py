"""Load generation with Locust: ``LLMUser``, arrival processes, shapes, result files.

Import Locust-dependent parts from their modules (``pytest_aistack.load.user``,
``pytest_aistack.load.shapes``) in a locustfile only: Locust monkey-patches the
process with gevent. This package itself, ``results``, ``arrival``, ``prompts`` and
``pytest_fixtures`` never import Locust, so pytest can use them.
"""

from __future__ import annotations

from pathlib import Path


def demo_burst(profile_file: Path, env: dict[str, str], report_dir: Path) -> list[str]:
    """``make demo``'s load step (see ``pytest_aistack/load/demo.py``)."""
    from .demo import run_demo_burst

    return run_demo_burst(profile_file, env, report_dir)
