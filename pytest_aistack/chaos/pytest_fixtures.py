"""pytest fixtures for fault injection: ``aistack_toxiproxy`` (session) and ``chaos``.

- ``aistack_toxiproxy``: a :class:`~pytest_aistack.chaos.client.ToxiproxyClient` to the
  Toxiproxy ``chaos_engine`` selects, started on first use and stopped at session end.
  A stack under test overrides it in its ``conftest.py`` to hand out its own Toxiproxy.
- ``chaos``: a :class:`~pytest_aistack.chaos.faults.Chaos` on that Toxiproxy. After the
  test it removes its faults, resets every proxy (``POST /reset``) and reports faults no
  connection went through, as an error, unless the test is marked
  ``@pytest.mark.chaos(assert_all_faults_exercised=False)``.

Cheap to import: the server and engine are imported inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from pytest_aistack.requires.options import options_from_marker

if TYPE_CHECKING:
    from .client import ToxiproxyClient
    from .faults import Chaos

MARKER = "chaos"


@dataclass(frozen=True, kw_only=True)
class ChaosOptions:
    """Keyword arguments of ``@pytest.mark.chaos``."""

    assert_all_faults_exercised: bool = True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*, assert_all_faults_exercised=True): options of the chaos fixture; "
        "False accepts faults that no connection went through",
    )


def chaos_options(item: pytest.Item) -> ChaosOptions:
    """The merged ``@pytest.mark.chaos`` options of ``item`` (closest marker wins)."""
    merged: dict[str, object] = {}
    for mark in reversed(list(item.iter_markers(MARKER))):
        options_from_marker(mark, ChaosOptions)  # a TypeError names the misuse
        merged.update(mark.kwargs)
    return ChaosOptions(**merged)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def aistack_toxiproxy(pytestconfig: pytest.Config) -> Iterator[ToxiproxyClient]:
    """A client to the session's Toxiproxy (embedded by default; see ``chaos_engine``)."""
    from pytest_aistack.settings import get_settings

    from .client import ToxiproxyClient
    from .engine import EngineError, start_toxiproxy

    settings = get_settings(pytestconfig)
    try:
        running = start_toxiproxy(settings, log_dir=settings.report_dir / "logs")
    except EngineError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        with ToxiproxyClient(running.url) as client:
            yield client
    finally:
        running.stop()


def format_unexercised(descriptions: list[str]) -> str:
    lines = [
        f"chaos: {len(descriptions)} fault(s) never carried a connection:",
        *(f"- {text} saw no connection: the test did not exercise it" for text in descriptions),
        "If that is expected, mark the test with "
        f"@pytest.mark.{MARKER}(assert_all_faults_exercised=False).",
    ]
    return "\n".join(lines)


@pytest.fixture
def chaos(request: pytest.FixtureRequest, aistack_toxiproxy: ToxiproxyClient) -> Iterator[Chaos]:
    """Faults for this test; all removed and every proxy reset after it."""
    from .faults import Chaos, unexercised

    options = chaos_options(request.node)
    faults = Chaos(aistack_toxiproxy)
    try:
        yield faults
    finally:
        missed = unexercised(faults.faults)
        try:
            faults.remove_all()
        finally:
            aistack_toxiproxy.reset()
    if missed and options.assert_all_faults_exercised:
        pytest.fail(format_unexercised([fault.description for fault in missed]), pytrace=False)
