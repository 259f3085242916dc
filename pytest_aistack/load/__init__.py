"""Load generation with Locust: ``LLMUser``, arrival processes, shapes, result files.

Import Locust-dependent parts from their modules (``pytest_aistack.load.user``,
``pytest_aistack.load.shapes``) in a locustfile only: Locust monkey-patches the
process with gevent. This package itself, ``results``, ``arrival``, ``prompts`` and
``pytest_fixtures`` never import Locust, so pytest can use them.
"""

from __future__ import annotations
