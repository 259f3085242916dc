"""Docker backend: time from up() to a healthy reference stack, from built images.

Target: <= 30 s (issue 7). Needs a Docker engine and the images of
scripts/docker-ci-images (settings from .aistack/docker-images.env when present);
without them it says so and exits 0 like every benchmark. Three runs; prints each
run's total, the slowest service and the time down() takes.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path

TARGET_S = 30.0
RUNS = 3
ENV_FILE = Path(__file__).resolve().parents[1] / ".aistack" / "docker-images.env"


def _load_env_file() -> None:
    if not ENV_FILE.exists():
        return
    for line in ENV_FILE.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            os.environ.setdefault(name, value)


def main() -> int:
    _load_env_file()
    from pytest_aistack.settings import resolve_outside_pytest
    from pytest_aistack.stack.docker import DockerBackend
    from pytest_aistack.stack.docker.engine import docker_client, image_present
    from pytest_aistack.stack.factory import REFERENCE_SPEC
    from pytest_aistack.stack.spec import load_stack_spec

    settings = resolve_outside_pytest().settings
    try:
        client = docker_client()
        client.ping()
    except Exception as exc:
        print(f"SKIPPED: no Docker engine answers ({type(exc).__name__}); see docs/docker.md")
        return 0
    try:
        images = [settings.docker_services_image, settings.docker_redis_image]
        missing = [i for i in images if not image_present(client, i)]
    finally:
        client.close()
    if missing:
        print(f"SKIPPED: images {missing} not built; run scripts/docker-ci-images")
        return 0
    spec = load_stack_spec(REFERENCE_SPEC)
    print(f"load average before: {os.getloadavg()}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, RUNS + 1):
            backend = DockerBackend.from_settings(
                spec, dataclasses.replace(settings, report_dir=Path(tmp))
            )
            started = time.monotonic()
            try:
                stack = backend.up()
                healthy = time.monotonic() - started
            finally:
                down_started = time.monotonic()
                backend.down()
                down_s = time.monotonic() - down_started
            timings = dict(stack.extra["timings"])
            slowest = max(
                (k for k in timings if k not in ("total", "reap")), key=lambda k: timings[k]
            )
            worst = max(worst, healthy)
            print(
                f"run {run}: healthy in {healthy:.1f} s (slowest: {slowest} "
                f"{timings[slowest]:.1f} s); down in {down_s:.1f} s"
            )
    verdict = "met" if worst <= TARGET_S else "MISSED"
    print(
        f"docker stack healthy, worst of {RUNS}: {worst:.1f} s "
        f"(target <= {TARGET_S:.0f} s): {verdict}"
    )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
