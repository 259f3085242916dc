"""LocalBackend.fresh_instance: one more process of a running stack's service."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from pytest_aistack.runtime.waiting import wait_until
from pytest_aistack.stack import runs
from pytest_aistack.stack.local import LocalBackend
from pytest_aistack.stack.spec import parse_stack_spec

TINY = str(Path(__file__).with_name("tiny_service.py"))


def test_a_fresh_instance_is_rendered_like_the_running_one_and_is_the_callers(
    tmp_path: Path,
) -> None:
    spec = parse_stack_spec(
        {
            "services": {
                "first": {
                    "command": [sys.executable, TINY, "--port", "0"],
                    "health": {"http": "/"},
                },
                "second": {
                    "command": [sys.executable, TINY, "--port", "${port}"],
                    "port": "pick",
                    "health": {"http": "/health"},
                    "depends_on": ["first"],
                    "env": {"FIRST_URL": "${url:first}"},
                },
            }
        },
        tmp_path / "stack.yaml",
    )
    backend = LocalBackend(spec, log_dir=tmp_path / "logs")
    stack = backend.up()
    try:
        process, port = backend.fresh_instance("second", "second-extra")
        assert port is not None
        assert port != int(stack.endpoints["second"].url.rsplit(":", 1)[1])
        assert process.log_path == backend.log_dir / "second-extra.log"
        unstarted_pid = process.pid
        assert unstarted_pid is None  # not started: the caller starts and stops it
        with process:
            wait_until(
                lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200,
                timeout=20,
                what="the fresh instance to answer",
                retry_on=(httpx.HTTPError,),
            )
            assert process.pid is not None
            environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
            assert f"FIRST_URL={stack.endpoints['first'].url}".encode() in environ
            assert f"{runs.RUN_ID_ENV}={backend.run_id}".encode() in environ  # reaped on a crash
        assert process.poll() is not None
        assert "second" in stack.endpoints  # the stack's own instance is untouched
        assert httpx.get(stack.endpoints["second"].url + "/health", timeout=5).status_code == 200
    finally:
        backend.down()
