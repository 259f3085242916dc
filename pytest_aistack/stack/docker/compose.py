"""The compose file in pytest_aistack/reference_stack/docker/ and its configs, from stack.yaml.

    python -m pytest_aistack.stack.docker.compose          # rewrite the files
    python -m pytest_aistack.stack.docker.compose --check  # exit 1 if they are stale

The compose file is for ``docker compose up`` users; it runs the same containers as
the docker backend (the same :func:`~pytest_aistack.stack.docker.engine.plan_container`
decides image, command and environment), with what a long-running stack needs
instead of per-run values: fixed host ports on 127.0.0.1 (each overridable by an
environment variable), health checks, ``depends_on`` conditions, Toxiproxy proxies
created at start from a JSON file, and keys taken from the environment. Generating
it keeps it from drifting from stack.yaml; ``tests/docker`` checks it is current.

Toxiproxy is our embedded one from the services image, so the file works where the
official image cannot be pulled; docs/docker.md shows the two lines to change for it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from pytest_aistack.reference_stack import REFERENCE_DIR as REFERENCE_STACK_DIR
from pytest_aistack.stack.docker.engine import (
    CONFIG_DIR,
    CONTAINER_LISTEN_ADDRESS,
    DockerImages,
    network_placeholders,
    plan_container,
    proxy_ports,
)
from pytest_aistack.stack.spec import ServiceSpec, StackSpec, load_stack_spec

REFERENCE_DIR = REFERENCE_STACK_DIR
OUT_DIR = REFERENCE_DIR / "docker"
TOXIPROXY_CONFIG = "toxiproxy.json"
# Images and keys come from the environment, with the defaults the settings use.
IMAGES = DockerImages(
    services="${AISTACK_DOCKER_SERVICES_IMAGE:-pytest-aistack:local}",
    redis="${AISTACK_DOCKER_REDIS_IMAGE:-redis:7-alpine}",
)
# The run's placeholders; plan_container fills in those of the container itself.
VALUES = {
    "admin_token": "${AISTACK_MOCK_ADMIN_TOKEN:-aistack-admin}",
    "master_key": "${LITELLM_MASTER_KEY:-sk-aistack-compose}",
}
# Host ports: the gateway where LiteLLM users expect it, the rest in a row after 8000.
FIRST_HOST_PORTS = {"gateway": 4000, "toxiproxy": 8474, "redis": 6379}
OTHER_HOST_PORT_BASE = 8001

HEADER = """\
# GENERATED from ../stack.yaml by `python -m pytest_aistack.stack.docker.compose`;
# edit stack.yaml (or the generator), not this file.
#
# The reference stack for `docker compose up` (docs/docker.md). Build the images first:
#   scripts/docker-ci-images && source .aistack/docker-images.env
#   docker compose -f pytest_aistack/reference_stack/docker/compose.yaml up -d --wait
# Every port is published on 127.0.0.1 only; AISTACK_COMPOSE_<SERVICE>_PORT moves one.
"""


def _env_name(service: str) -> str:
    return "AISTACK_COMPOSE_" + service.upper().replace("-", "_") + "_PORT"


def _healthcheck(service: ServiceSpec, port: int) -> dict[str, Any]:
    kind = service.health.kind
    if kind == "redis":
        test = ["CMD", "redis-cli", "-p", str(port), "ping"]
    else:
        if kind == "http":
            url = f"http://127.0.0.1:{port}{service.health.path}"
            probe = f"import urllib.request; urllib.request.urlopen('{url}', timeout=2)"
        else:
            probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        test = ["CMD", "python", "-c", probe]
    return {"test": test, "interval": "2s", "timeout": "3s", "retries": 30}


def render(spec: StackSpec) -> dict[str, str]:
    """File name -> content, for every file of the compose stack."""
    # Every proxy exists from the start (toxiproxy.json), so every service may use one.
    proxied = {s.name for s in spec.services.values() if s.proxy is not None}
    planned_ports: dict[str, int] = {}
    plans = {}
    for wave in spec.startup_waves():
        for service in wave:
            values = {**VALUES, **network_placeholders(spec, planned_ports, proxied)}
            plans[service.name] = plan_container(
                spec, service, values, images=IMAGES, official_toxiproxy=False
            )
        for service in wave:
            planned_ports[service.name] = plans[service.name].port
    files: dict[str, str] = {}
    services: dict[str, Any] = {}
    next_host_port = OTHER_HOST_PORT_BASE
    for name, plan in plans.items():
        spec_service = spec.services[name]
        host_port = FIRST_HOST_PORTS.get(name)
        if host_port is None:
            host_port, next_host_port = next_host_port, next_host_port + 1
        body: dict[str, Any] = {"image": plan.image, "command": list(plan.argv)}
        volumes = []
        if plan.config_path is not None and plan.config_text is not None:
            file_name = Path(plan.config_path).name
            template = spec_service.config_template
            files[file_name] = (
                f"# GENERATED from {template.relative_to(REFERENCE_DIR) if template else '?'}"
                " by `python -m pytest_aistack.stack.docker.compose`,\n"
                "# with the addresses of the compose network filled in.\n" + plan.config_text
            )
            volumes.append(f"./{file_name}:{plan.config_path}:ro")
        if plan.toxiproxy:
            body["command"] += ["--config", f"{CONFIG_DIR}/{TOXIPROXY_CONFIG}"]
            volumes.append(f"./{TOXIPROXY_CONFIG}:{CONFIG_DIR}/{TOXIPROXY_CONFIG}:ro")
            files[TOXIPROXY_CONFIG] = _toxiproxy_config(spec, planned_ports)
        if volumes:
            body["volumes"] = volumes
        if plan.env:
            body["environment"] = dict(plan.env)
        body["ports"] = [f"127.0.0.1:${{{_env_name(name)}:-{host_port}}}:{plan.port}"]
        body["healthcheck"] = _healthcheck(spec_service, plan.port)
        if plan.toxiproxy:
            # Healthy only once the proxies of toxiproxy.json exist, not merely the API.
            body["healthcheck"]["test"] = [
                "CMD",
                "python",
                "-c",
                "import json, urllib.request; assert json.load(urllib.request.urlopen("
                f"'http://127.0.0.1:{plan.port}/proxies', timeout=2))",
            ]
        if spec_service.depends_on:
            body["depends_on"] = {
                dep: {"condition": "service_healthy"} for dep in spec_service.depends_on
            }
        services[name] = body
    compose = yaml.safe_dump({"services": services}, sort_keys=False, width=100)
    files["compose.yaml"] = HEADER + _mark_container_listeners(compose)
    return files


def _mark_container_listeners(compose: str) -> str:
    """Say on each listen-address line why it is every interface (a YAML comment;
    PyYAML writes none): reviewers and the project's checks look for the reason there."""
    item = f"- {CONTAINER_LISTEN_ADDRESS}"
    return "".join(
        f"{line.rstrip()}  # ok: inside the container; ports published on 127.0.0.1 only\n"
        if line.strip() == item
        else line
        for line in compose.splitlines(keepends=True)
    )


def _toxiproxy_config(spec: StackSpec, ports: dict[str, int]) -> str:
    listen = proxy_ports(spec)
    proxies = [
        {
            "name": service.proxy,
            "listen": f"{CONTAINER_LISTEN_ADDRESS}:{listen[service.name]}",
            "upstream": f"{service.name}:{ports[service.name]}",
            "enabled": True,
        }
        for service in sorted(spec.services.values(), key=lambda s: s.name)
        if service.proxy is not None
    ]
    return json.dumps(proxies, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_aistack.stack.docker.compose")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    files = render(load_stack_spec(REFERENCE_DIR / "stack.yaml"))
    stale = []
    for name, text in files.items():
        path = OUT_DIR / name
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        print(
            f"stale: {', '.join(stale)} in {OUT_DIR}; regenerate with "
            "python -m pytest_aistack.stack.docker.compose",
            file=sys.stderr,
        )
        return 1
    print(f"{'checked' if args.check else 'wrote'} {', '.join(sorted(files))} in {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
