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

COOLDOWN_MARGIN_S = 0.5
_records_key = pytest.StashKey[list["ScenarioRecord"]]()


@pytest.fixture
def stack(aistack_stack: AIStack) -> AIStack:
    return aistack_stack


@pytest.fixture(scope="session")
def _proxy_control(aistack_stack: AIStack) -> ProxyControl | None:
    if aistack_stack.toxiproxy_url is None:
        return None
    return ProxyControl(aistack_stack.toxiproxy_url)


@pytest.fixture
def proxies(_proxy_control: ProxyControl | None) -> ProxyControl:
    if _proxy_control is None:
        pytest.skip("this stack has no Toxiproxy (profile key toxiproxy.url is empty)")
    return _proxy_control


@pytest.fixture(autouse=True)
def clean_stack(request: pytest.FixtureRequest) -> Iterator[None]:
    if "stack" not in request.fixturenames:
        yield
        return
    stack: AIStack = request.getfixturevalue("stack")
    proxy_control: ProxyControl = request.getfixturevalue("proxies")
    proxy_control.reset()
    # A deployment tripped by the previous scenario's last failures stays out for
    # cooldown_s (and its fail counter lives as long); let that window lapse. This waits
    # out a duration the policy defines — it is not a guess at readiness.
    remaining = proxy_control.cleared_at + stack.policy.cooldown_s + COOLDOWN_MARGIN_S
    if remaining > time.monotonic():
        time.sleep(remaining - time.monotonic())
    stack.reset_backends()
    try:
        yield
    finally:
        proxy_control.reset()


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
