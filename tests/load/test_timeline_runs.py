"""The per-second timeline of real locust runs: complete, with the load shape's users."""

from __future__ import annotations

import pytest

from pytest_aistack.load.pytest_fixtures import RunLocust

from .conftest import LOCUSTFILES, MOCK_TOKENS, TEST_LOCUSTFILES

pytestmark = pytest.mark.load


def test_timeline_adds_up_to_the_run_and_follows_the_burst(
    run_locust: RunLocust, mock_url: str
) -> None:
    run = run_locust(
        LOCUSTFILES / "burst.py",
        host=mock_url,
        args=["--shape-users", "2", "--burst-multiplier", "3", "--burst-at", "2",
              "--burst-for", "2", "--shape-duration", "6", "--llm-max-tokens", str(MOCK_TOKENS)],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    metrics = run.result.metrics()
    seconds = metrics.timeline.seconds
    assert sum(s.requests for s in seconds.values()) == metrics.requests
    assert sum(s.ok for s in seconds.values()) == metrics.outcomes["ok"]
    assert sum(s.output_tokens for s in seconds.values()) == metrics.output_tokens
    assert (
        sum(s.latency["ttft"].count for s in seconds.values()) == metrics.histograms["ttft"].count
    )
    users = [s.users for _, s in sorted(seconds.items()) if s.users is not None]
    # 2 users, 6 in the burst from 2 s to 4 s, then 2 again (sampled every 0.25 s).
    assert max(users) == 6
    assert users[0] <= 2
    assert 2 in users[users.index(6) :]


def test_distributed_run_merges_the_workers_timelines(run_locust: RunLocust, mock_url: str) -> None:
    run = run_locust(
        TEST_LOCUSTFILES / "closed.py",
        host=mock_url,
        users=4,
        spawn_rate=100,
        run_time="3s",
        processes=2,
    )
    assert run.exit_code == 0, run.output
    metrics = run.result.metrics()
    seconds = metrics.timeline.seconds.values()
    assert sum(s.requests for s in seconds) == metrics.requests > 0
    assert sum(s.latency["e2e"].count for s in seconds) == metrics.histograms["e2e"].count
    # The master samples the total over both workers.
    assert max(s.users or 0 for s in seconds) == 4
