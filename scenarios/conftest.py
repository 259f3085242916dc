"""Shared set-up of the resilience scenarios.

Each scenario starts from a clean stack: every proxy enabled with no toxics, the mock
backends' counters cleared, and no deployment still cooling down from the scenario
before (breaker state lives in the gateway, so we let the previous scenario's cooldown
window lapse — a known duration from the policy, not a guess at readiness).

Each scenario fills a :class:`ScenarioRecord` (fault, expected, observed); the verdict
comes from the test outcome, and the session writes all of them to
``<report_dir>/resilience.json`` for ``python -m pytest_aistack.demo`` to print.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pytest_aistack.config import Settings, get_settings
from pytest_aistack.stack.handle import AIStack, ProxyControl
from pytest_aistack.stack.records import ScenarioRecord, save_records

_records_key = pytest.StashKey[list["ScenarioRecord"]]()


class _Cooldown:
    """When the last scenario's breaker windows are over (monotonic seconds)."""

    clear_at = 0.0


@pytest.fixture
def stack(aistack_stack: AIStack) -> AIStack:
    return aistack_stack


@pytest.fixture
def proxies(aistack_stack: AIStack) -> ProxyControl:
    if aistack_stack.toxiproxy_url is None:
        pytest.skip("this stack has no Toxiproxy (profile key toxiproxy.url is empty)")
    return ProxyControl(aistack_stack.toxiproxy_url)


@pytest.fixture(autouse=True)
def clean_stack(request: pytest.FixtureRequest) -> Iterator[None]:
    if "stack" not in request.fixturenames:
        yield
        return
    stack: AIStack = request.getfixturevalue("stack")
    proxy_control: ProxyControl = request.getfixturevalue("proxies")
    proxy_control.reset()
    # Waiting out a time window the policy defines (not polling for readiness).
    remaining = _Cooldown.clear_at - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    stack.reset_backends()
    try:
        yield
    finally:
        proxy_control.reset()
        # Failed attempts in the last moments of the scenario may trip a deployment;
        # its cooldown (and the fail counter's TTL, also cooldown_s) must lapse first.
        _Cooldown.clear_at = time.monotonic() + stack.policy.cooldown_s + 0.5


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[ScenarioRecord]:
    record = ScenarioRecord(scenario=request.node.name.removeprefix("test_"))
    request.config.stash.setdefault(_records_key, []).append(record)
    request.node.stash[_record_key] = record
    started = time.monotonic()
    yield record
    record.seconds = round(time.monotonic() - started, 2)


_record_key = pytest.StashKey[ScenarioRecord]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    record = item.stash.get(_record_key, None)
    if record is not None and (report.when == "call" or report.failed):
        if report.failed:
            record.verdict = "FAIL"
            if report.when == "call" and call.excinfo is not None:
                record.observe(f"failed: {call.excinfo.exconly().splitlines()[0][:300]}")
        elif report.skipped:
            record.verdict = "SKIP"
        elif report.when == "call":
            record.verdict = "PASS"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    records = session.config.stash.get(_records_key, [])
    if not records:
        return
    settings: Settings = get_settings(session.config)
    save_records(records, settings.report_dir)
