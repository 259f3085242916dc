"""The docker backend: the stack's services in containers on a private network.

- :mod:`~pytest_aistack.stack.docker.backend`: :class:`DockerBackend`, the start-up
  sequence (waves, health, proxies) and teardown
- :mod:`~pytest_aistack.stack.docker.containers`: one service's container, built,
  started, its ports and logs read
- :mod:`~pytest_aistack.stack.docker.engine`: the engine client, images, testcontainers
  settings and each container's plan (image, command, environment)
- :mod:`~pytest_aistack.stack.docker.labels`: the labels on a run's containers and
  the reaper of runs whose owner died
- :mod:`~pytest_aistack.stack.docker.compose`: the compose file for ``docker compose``
  users, generated from the same plans

Nothing here imports ``docker`` or ``testcontainers`` at module level, so importing
the package is cheap; those load when a stack starts. (Inside this package ``import
docker`` is absolute and still names the Docker SDK.)
"""

from __future__ import annotations

from pytest_aistack.stack.docker.backend import DockerBackend
from pytest_aistack.stack.docker.engine import DockerImages, DockerStackError

__all__ = ["DockerBackend", "DockerImages", "DockerStackError"]
