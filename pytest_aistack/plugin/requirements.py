"""``requires_*`` markers: probe once per session, skip (or fail, in strict mode) precisely.

After collection (and after ``-k``/``-m`` deselection) the checker gathers the
requirements of the tests that will run, probes each distinct target once, all
concurrently, and at each test's setup — before any fixture runs — skips it with
a reason that says what was probed, where, what happened and how to point it
elsewhere::

    requires_vllm: no vLLM at http://127.0.0.1:8000 (GET /v1/models: connection
    refused after 2 ms); set AISTACK_VLLM_URL or [tool.aistack] vllm_url

Under ``--aistack-strict`` the same reason fails the test instead. What each kind
probes, names and hints comes from :data:`pytest_aistack.requires.kinds.KINDS`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_aistack.plugin.markers import MARKERS_BY_NAME, marker_options
from pytest_aistack.requires.kinds import KINDS_BY_MARKER, RequirementKind
from pytest_aistack.requires.probes import Probe, ProbeResult, run_probes
from pytest_aistack.settings import Settings


@dataclass(frozen=True)
class Requirement:
    kind: RequirementKind
    options: Any

    @property
    def marker(self) -> str:
        return self.kind.marker

    def probe(self, settings: Settings) -> Probe | None:
        """The probe this requirement needs (None: nothing to send over the network).

        Raises ``TypeError`` for marker arguments only the settings can judge.
        """
        return self.kind.target_for(settings, self.options).probe

    def missing(
        self, settings: Settings, results: dict[tuple[str, str], ProbeResult]
    ) -> str | None:
        """The skip reason if this requirement is not met, else None."""
        target = self.kind.target_for(settings, self.options)
        if target.unmet is not None:
            return f"{self.marker}: {target.unmet}"
        probe = target.probe
        if probe is None:
            return None
        result = results[probe.key]
        if not result.ok:
            return (
                f"{self.marker}: no {target.name} at {probe.where} ({result.describe()}); "
                f"{target.hint}"
            )
        model = getattr(self.options, "model", None)
        if model is not None:
            listed = result.models or ()
            if not self.kind.lists_model(listed, model):
                shown = ", ".join(listed[:8]) + (", ..." if len(listed) > 8 else "")
                return (
                    f"{self.marker}: {target.name} at {probe.where} does not list model "
                    f"{model!r} ({result.describe()}; listed: {shown or 'none'}); {target.hint}"
                )
        return None


_UNMET_KEY = pytest.StashKey[str]()


class RequirementChecker:
    """The stateful part of the plugin: registered once per session in pytest_configure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.results: dict[tuple[str, str], ProbeResult] = {}
        self.probes: list[Probe] = []
        self._requirements: dict[str, list[Requirement]] = {}
        self._misuse: dict[str, TypeError] = {}
        # reason -> (marker, node ids of the tests it stopped)
        self.unmet: dict[str, tuple[str, set[str]]] = {}
        self.stopped: set[str] = set()

    # -- collection ---------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)  # after -k/-m deselection: probe only what will run
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        probes: dict[tuple[str, str], Probe] = {}
        for item in items:
            try:
                requirements = self._item_requirements(item)
            except TypeError as exc:
                self._misuse[item.nodeid] = exc
                continue
            self._requirements[item.nodeid] = requirements
            for requirement in requirements:
                try:
                    probe = requirement.probe(self.settings)
                except TypeError as exc:
                    self._misuse[item.nodeid] = exc
                    continue
                if probe is not None:
                    probes.setdefault(probe.key, probe)
        self.probes = list(probes.values())
        results = run_probes(self.probes, self.settings.probe_timeout)
        self.results = {
            probe.key: result for probe, result in zip(self.probes, results, strict=True)
        }

    @staticmethod
    def _item_requirements(item: pytest.Item) -> list[Requirement]:
        requirements: list[Requirement] = []
        for mark in item.iter_markers():
            if mark.name not in MARKERS_BY_NAME:
                continue
            options = marker_options(mark)  # also for the other markers: misuse is an error
            kind = KINDS_BY_MARKER.get(mark.name)
            if kind is not None:
                requirement = Requirement(kind, options)
                if requirement not in requirements:
                    requirements.append(requirement)
        return requirements

    def pytest_report_collectionfinish(self) -> list[str]:
        if not self.probes:
            return ["aistack probes: none needed by the selected tests"]
        lines = []
        for probe in self.probes:
            result = self.results[probe.key]
            state = "ok" if result.ok else "FAILED"
            models = ""
            if result.models is not None:
                models = f", {len(result.models)} model(s)"
            lines.append(
                f"aistack probe {probe.kind} {probe.where}: {state} ({result.describe()}{models})"
            )
        return lines

    # -- running ------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before fixtures: a missing backend is not a fixture error
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        __tracebackhide__ = True  # the misuse is in the test's marker, not in this hook
        misuse = self._misuse.get(item.nodeid)
        if misuse is not None:
            raise TypeError(str(misuse)) from None
        reasons: list[str] = []
        for requirement in self._requirements.get(item.nodeid, ()):
            reason = requirement.missing(self.settings, self.results)
            if reason is None:
                continue
            reasons.append(reason)
            self.unmet.setdefault(reason, (requirement.marker, set()))[1].add(item.nodeid)
        if not reasons:
            return
        self.stopped.add(item.nodeid)
        message = " | ".join(reasons)
        if self.settings.strict:
            item.stash[_UNMET_KEY] = message
            pytest.fail(message, pytrace=False)
        # Point the skip at the test, as pytest does for its own skip marks.
        raise pytest.skip.Exception(message, _use_item_location=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "setup" and report.failed and _UNMET_KEY in item.stash:
            report.user_properties.append(("aistack_unmet_requirement", item.stash[_UNMET_KEY]))
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        # Strict mode reports an unmet requirement as a failed test, not as a setup
        # error: the test did not fail to set up, its precondition is absent.
        if (
            report.when == "setup"
            and report.failed
            and any(key == "aistack_unmet_requirement" for key, _ in report.user_properties)
        ):
            return "failed", "F", "FAILED"
        return None

    # -- summary ------------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        lines = self.summary_lines()
        if not lines:
            return
        terminalreporter.section("aistack", sep="=")
        for line in lines:
            terminalreporter.line(line)

    def summary_lines(self) -> list[str]:
        if not self.stopped:
            return []
        count = len(self.stopped)
        tests = "test" if count == 1 else "tests"
        verb = "failed" if self.settings.strict else "skipped"
        strict = " (--aistack-strict)" if self.settings.strict else ""
        lines = [f"aistack: {count} {tests} {verb} for missing requirements{strict}"]
        for reason, (marker, nodeids) in sorted(self.unmet.items()):
            detail = reason.removeprefix(f"{marker}: ")
            lines.append(f"- {marker} x{len(nodeids)}: {detail}")
        return lines
