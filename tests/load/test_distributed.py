"""--master / --worker as separate processes: options and histograms travel over Locust's RPC."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from pytest_aistack.load.results import read_result
from pytest_aistack.metrics import RequestRecord, RunMetrics
from pytest_aistack.runtime.process import ManagedProcess

from .conftest import TEST_LOCUSTFILES

pytestmark = pytest.mark.load

LOCUSTFILE = str(TEST_LOCUSTFILES / "distributed.py")


def test_master_options_and_exact_histograms_reach_across_processes(
    mock_url: str, tmp_path: Path
) -> None:
    port_file = tmp_path / "master.port"
    records = tmp_path / "records"
    env = {**os.environ, "AISTACK_TEST_MASTER_PORT_FILE": str(port_file)}
    master = ManagedProcess(
        "locust-master",
        [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--master", "--headless",
         "--master-bind-host", "127.0.0.1", "--master-bind-port", "0",
         "--expect-workers", "2", "--expect-workers-max-wait", "60",
         "-u", "4", "-r", "100", "-t", "3s", "--host", mock_url, "--only-summary",
         # Given to the master only: workers must receive them.
         "--slo", "ttft_p99_ms<=1, error_rate<=1", "--llm-dump-records", str(records),
         "--llm-results", str(tmp_path), "--llm-results-name", "run"],
        log_path=tmp_path / "master.log",
        env=env,
    )  # fmt: skip
    workers: list[ManagedProcess] = []
    try:
        master.start()
        master.wait_until(port_file.exists, timeout=60, what="announcing its port")
        port = port_file.read_text()
        for i in range(2):
            worker = ManagedProcess(
                f"locust-worker-{i}",
                [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--worker",
                 "--master-host", "127.0.0.1", "--master-port", port],
                log_path=tmp_path / f"worker-{i}.log",
            )  # fmt: skip
            workers.append(worker)
            worker.start()
        code = master.wait_exit(timeout=120)
    finally:
        master.stop()
        for worker in workers:
            worker.stop()
    output = master.tail(200)
    assert code == 1, output  # the SLO ttft_p99_ms<=1 cannot be met
    assert "- ttft_p99_ms: measured" in output
    result = read_result(tmp_path / "run.json")
    assert result.requests > 0
    # Workers applied the master's SLO to goodput: no request had TTFT <= 1 ms.
    assert result.summary["good_requests"] == 0
    files = sorted(records.glob("records-*.jsonl"))
    assert len(files) == 2, files  # the master's --llm-dump-records reached both workers
    union = RunMetrics()
    for path in files:
        for line in path.read_text().splitlines():
            union.add(RequestRecord.from_dict(json.loads(line)), 0)
    merged = result.metrics()
    assert merged.requests == union.requests
    for name, hist in union.histograms.items():
        assert merged.histograms[name] == hist, name
    assert len(result.data["run"]["generator_processes"]) == 2
