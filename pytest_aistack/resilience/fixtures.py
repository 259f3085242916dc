"""The ``scenario`` fixture and the verdict hooks (registered by the plugin).

A test that asks for ``scenario`` gets a :class:`ScenarioRecord` to fill
(``dependency``, ``promise``, ``fault``, ``expected``, ``observe(line)``); its verdict
comes from the test's outcome, a failure's report gains a "broken promise" section
naming the promise, and the session writes every record to
``<report_dir>/resilience.json`` for ``aistack report`` and ``make demo``. Tests that do
not ask for ``scenario`` are untouched.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from pytest_aistack.resilience.breakers import BreakerWindow
from pytest_aistack.resilience.records import UNKNOWN, ScenarioRecord, save_records
from pytest_aistack.settings import get_settings

if TYPE_CHECKING:
    from pytest_aistack.stack.handle import AIStack

_records_key = pytest.StashKey[list[ScenarioRecord]]()
_record_key = pytest.StashKey[ScenarioRecord]()
# The first line of a failure is enough for the matrix; the report keeps the rest.
FAILURE_LINE_CHARS = 300


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[ScenarioRecord]:
    """This test's row of the resiliency matrix (named after the test)."""
    record = ScenarioRecord(scenario=request.node.name.removeprefix("test_"))
    request.config.stash.setdefault(_records_key, []).append(record)
    request.node.stash[_record_key] = record
    started = time.monotonic()
    yield record
    record.seconds = round(time.monotonic() - started, 2)


@pytest.fixture(scope="session")
def breakers(aistack_stack: AIStack) -> BreakerWindow:
    """When the stack's breakers are back to normal (its policy's ``cooldown_s``)."""
    return BreakerWindow(aistack_stack.policy.cooldown_s)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    record = item.stash.get(_record_key, None)
    if record is not None and (report.when == "call" or report.failed):
        if report.failed:
            record.verdict = "FAIL"
            if report.when == "call" and call.excinfo is not None:
                first = call.excinfo.exconly().splitlines()[0][:FAILURE_LINE_CHARS]
                record.observe(f"failed: {first}")
            # The failure output names the promise the row checks, whatever the assertion said.
            broken = f"{record.promise or UNKNOWN} (dependency {record.dependency or '?'})"
            report.sections.append(("broken promise", f"{broken}: expected {record.expected}"))
        elif report.skipped:
            record.verdict = "SKIP"
        elif report.when == "call":
            record.verdict = "PASS"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    records = session.config.stash.get(_records_key, [])
    if records:
        save_records(records, get_settings(session.config).report_dir)
