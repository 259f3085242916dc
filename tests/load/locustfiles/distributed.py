"""A closed-loop LLMUser whose master writes its (port 0) RPC port to a file for workers."""

import os
from typing import Any

from locust import events
from locust.runners import MasterRunner

from pytest_aistack.load.user import LLMUser


class Closed(LLMUser):
    max_tokens = 8


def announce_master_port(environment: Any, **_: Any) -> None:
    path = os.environ.get("AISTACK_TEST_MASTER_PORT_FILE")
    if path and isinstance(environment.runner, MasterRunner):
        with open(path + ".tmp", "w") as out:
            out.write(str(environment.runner.server.port))
        os.replace(path + ".tmp", path)


# locust is imported without type information (pyproject: ignore_missing_imports).
events.init.add_listener(announce_master_port)  # type: ignore[no-untyped-call]
