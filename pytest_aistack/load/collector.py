"""Per-process collection of LLM records, distributed merge, and the end of a run.

Installed once per Locust process by :func:`install` (from the ``init`` event):

- every process folds its records into a :class:`RunMetrics`;
- a worker adds the metrics collected since its last report to Locust's periodic
  worker report (``report_to_master``, also sent once more when it stops) and
  starts afresh; the master merges each report (``worker_report``). Histograms
  merge exactly, so the master's percentiles equal those of the union of records.
- at ``quitting`` the master (or the single local process) prints the summary,
  writes the result files, applies the SLO gate to the exit code and reports
  the self-check verdict.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from pytest_aistack.metrics import (
    RunMetrics,
    SLOError,
    Summary,
    evaluate,
    format_table,
    parse_slo,
    unmet_lines,
)
from pytest_aistack.metrics.aggregate import wall_offset_ns
from pytest_aistack.metrics.record import RequestRecord

from . import options as llm_options
from . import transport
from .prompts import DEFAULT_PROMPTS, load_prompts
from .results import LoadResult, ResultFileError, build_result, read_result, write_result_files
from .selfcheck import SelfCheck, verdict

logger = logging.getLogger("pytest_aistack.load")
_REPORT_KEY = "aistack_llm"
_CHECK_KEY = "aistack_selfcheck"


class LLMCollector:
    def __init__(self, environment: Environment, opts: llm_options.LLMOptions) -> None:
        self.environment = environment
        self.options = opts
        self.metrics = RunMetrics(opts.slo)
        self.offset_ns = wall_offset_ns()
        self.selfcheck = SelfCheck()
        self.checks: dict[str, dict[str, Any]] = {}
        self.users_max = 0
        self.started_at: str | None = None
        self.run_info: dict[str, Any] = {}
        self._greenlets: list[Any] = []
        # --baseline, read at start (by the master or the single process) so a missing
        # or wrong file stops the run before any load is sent.
        self.baseline: LoadResult | None = None
        # --llm-dump-records: every record as JSON lines, one file per process (tests
        # compare the merged histograms with the union of these).
        self._dump: IO[str] | None = None

    def add(self, record: RequestRecord) -> None:
        self.metrics.add(record, self.offset_ns)
        if self.options.dump_records is not None:
            if self._dump is None:
                self.options.dump_records.mkdir(parents=True, exist_ok=True)
                path = self.options.dump_records / f"records-{os.getpid()}.jsonl"
                self._dump = path.open("a", buffering=1 << 16)
            self._dump.write(json.dumps(record.to_dict()) + "\n")

    def note_interrupted(self) -> None:
        self.metrics.interrupted += 1

    def describe_users(self, **info: Any) -> None:
        """The first user reports what it sends (model, kind, arrival...) for the result file."""
        if not self.run_info:
            self.run_info = info

    # -- lifecycle ------------------------------------------------------------------

    def on_test_start(self, **_: Any) -> None:
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner) and self.environment.parsed_options is not None:
            # Locust copied the master's custom options into ours just before this
            # event: the master's --slo, --llm-model, timeouts... apply on every worker.
            try:
                opts = llm_options.resolve(self.environment.parsed_options)
            except llm_options.OptionError as exc:
                logger.error("pytest-aistack: options from the master: %s", exc)
            else:
                self.options = opts if opts.slo else _class_slo(self.environment, opts)
                self.metrics.slo = self.options.slo
        if self.started_at is None:
            self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        if not isinstance(runner, MasterRunner) and not self.selfcheck.running:
            self._greenlets.append(gevent.spawn(self.selfcheck.run))
        if not isinstance(runner, WorkerRunner) and len(self._greenlets) < 2:
            self._greenlets.append(gevent.spawn(self._sample_users))

    def _sample_users(self) -> None:
        # The master's (or single process's) user count is the run's total; it is the
        # load shape drawn beside throughput and latency over time.
        while True:
            runner = self.environment.runner
            if runner is not None:
                self.users_max = max(self.users_max, runner.user_count)
                self.metrics.timeline.note_users(time.time_ns(), runner.user_count)
            gevent.sleep(0.25)

    def flush_dump(self) -> None:
        if self._dump is not None:
            self._dump.flush()

    def on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        self.flush_dump()
        data[_REPORT_KEY] = self.metrics.to_dict()
        data[_CHECK_KEY] = self.selfcheck.to_dict(transport.READ_LAG)
        data[_REPORT_KEY + "_run"] = self.run_info
        self.metrics = RunMetrics(self.options.slo)

    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        if _REPORT_KEY in data:
            self.metrics.merge(RunMetrics.from_dict(data[_REPORT_KEY], self.options.slo))
        if _CHECK_KEY in data:
            self.checks[f"worker {client_id}"] = data[_CHECK_KEY]
        if data.get(_REPORT_KEY + "_run") and not self.run_info:
            self.run_info = data[_REPORT_KEY + "_run"]

    def on_quitting(self, environment: Environment, **_: Any) -> None:
        self.flush_dump()
        if isinstance(environment.runner, WorkerRunner):
            return
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        if not isinstance(environment.runner, MasterRunner):
            self.checks[f"local {socket.gethostname()}"] = self.selfcheck.to_dict(
                transport.READ_LAG
            )
        try:
            code = self.finish(environment)
        except Exception:
            logger.exception("pytest-aistack: writing the LLM load results failed")
            code = 2
        if code is not None:
            environment.process_exit_code = code

    def finish(self, environment: Environment) -> int | None:
        opts = self.options
        summary = Summary.from_metrics(self.metrics)
        slo_results = evaluate(opts.slo, summary.slo_values())
        reliability = verdict(self.checks, self.metrics.histograms["start_lag"], opts.limits)
        parsed = environment.parsed_options
        run = {
            **self.run_info,
            "locustfile": str(getattr(parsed, "locustfile", "")),
            "host": environment.host,
            "users_max": self.users_max,
            "generator_processes": sorted(self.checks),
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "locust_stats": _locust_stats(environment),
        }
        result = build_result(
            run=run,
            metrics=self.metrics,
            slo=opts.slo,
            slo_results=slo_results,
            reliability=reliability,
        )
        files = write_result_files(result, opts.results_dir, opts.results_name)
        out = sys.stdout
        code = self._slo_gate(environment, summary, slo_results, reliability, files)
        # The baseline gate comes after the SLO gate's output and can only add a failure.
        regressed = self.baseline is not None and not self._compare(result, files[0], out)
        out.flush()
        return 1 if regressed else code

    def _slo_gate(
        self,
        environment: Environment,
        summary: Summary,
        slo_results: list[Any],
        reliability: dict[str, Any],
        files: list[Path],
    ) -> int | None:
        opts = self.options
        out = sys.stdout
        out.write("\n== pytest-aistack LLM summary (exact histograms, ms) ==\n")
        out.write(format_table(summary) + "\n")
        if reliability["reliable"]:
            out.write("load generator self-check: reliable\n")
        else:
            out.write("load generator self-check: UNRELIABLE — timings may be distorted:\n")
            out.writelines(f"- {reason}\n" for reason in reliability["reasons"])
        out.write("results: " + ", ".join(str(f) for f in files) + "\n")
        if summary.requests == 0:
            out.write("FAILED: no LLM request completed (is --host serving the model?)\n")
            out.flush()
            return 1
        if not opts.slo:
            out.flush()
            return None  # no gate: Locust's own rule (failures -> exit_code_on_error)
        unmet = unmet_lines(slo_results)
        if unmet:
            out.write(f"SLO FAILED: {len(unmet)} of {len(slo_results)} objectives unmet:\n")
            out.writelines(line + "\n" for line in unmet)
            out.flush()
            return 1
        out.write(f"SLO passed: {', '.join(opts.slo.to_list())}\n")
        out.flush()
        runner = environment.runner
        if runner is not None and runner.exceptions:
            return None  # user code crashed: let Locust fail the run
        return 0

    def _compare(self, result: dict[str, Any], path: Path, out: IO[str]) -> bool:
        """Print the baseline compare; False when a metric regressed beyond tolerance."""
        from pytest_aistack.load.baseline import CompareError, compare, parse_tolerances, text

        assert self.baseline is not None
        out.write(f"\n== pytest-aistack baseline compare ({self.baseline.path}) ==\n")
        try:
            terms = parse_tolerances(self.options.tolerance, source="--tolerance")
            comparison = compare(self.baseline, LoadResult(path, result), terms)
        except CompareError as exc:
            out.write(f"BASELINE COMPARE FAILED: {exc}\n")
            return False
        out.write(text(comparison))
        return comparison.passed


def _locust_stats(environment: Environment) -> dict[str, Any]:
    """Locust's own view of our TTFT/E2E entries (2-significant-digit rounding)."""
    stats: dict[str, Any] = {}
    for name in ("TTFT", "E2E"):
        entry = environment.stats.entries.get((name, "LLM"))
        if entry is None or entry.num_requests == 0:
            continue
        stats[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "avg_ms": entry.avg_response_time,
        }
    return stats


_installed: dict[int, LLMCollector] = {}


def collector_for(environment: Environment) -> LLMCollector:
    try:
        return _installed[id(environment)]
    except KeyError:
        raise RuntimeError(
            "pytest-aistack's LLM collector is not installed for this Locust environment; "
            "import LLMUser from pytest_aistack.load.user in the locustfile"
        ) from None


def install(environment: Environment, **_: Any) -> None:
    if id(environment) in _installed or environment.parsed_options is None:
        return
    try:
        opts = llm_options.resolve(environment.parsed_options)
    except llm_options.OptionError as exc:
        sys.stderr.write(f"pytest-aistack: {exc}\n")
        sys.exit(2)
    if not opts.slo:
        opts = _class_slo(environment, opts)
    for user_class in environment.user_classes:
        if not hasattr(user_class, "prompts_file"):
            continue  # not an LLMUser
        try:
            llm_options.arrival_for(opts, user_class)
            # Fail once, clearly, instead of once per spawned user.
            load_prompts(Path(opts.prompts or user_class.prompts_file or DEFAULT_PROMPTS))
        except ValueError as exc:
            sys.stderr.write(f"pytest-aistack: {user_class.__name__}: {exc}\n")
            sys.exit(2)
    collector = LLMCollector(environment, opts)
    if opts.baseline is not None and not getattr(environment.parsed_options, "worker", False):
        try:
            collector.baseline = read_result(opts.baseline)
        except ResultFileError as exc:
            sys.stderr.write(f"pytest-aistack: --baseline: {exc}\n")
            sys.exit(2)
    _installed[id(environment)] = collector
    _listen(environment.events.test_start, collector.on_test_start)
    _listen(environment.events.report_to_master, collector.on_report_to_master)
    _listen(environment.events.worker_report, collector.on_worker_report)
    _listen(environment.events.quitting, collector.on_quitting)


def _class_slo(environment: Environment, opts: llm_options.LLMOptions) -> llm_options.LLMOptions:
    """No --slo given: use the ``slo`` attribute of the locustfile's user class."""
    for user_class in environment.user_classes:
        text = getattr(user_class, "slo", "")
        if text:
            try:
                spec = parse_slo(text, source=f"{user_class.__name__}.slo")
            except SLOError as exc:
                sys.stderr.write(f"pytest-aistack: {exc}\n")
                sys.exit(2)
            return dataclasses.replace(opts, slo=spec)
    return opts


def register() -> None:
    """Hook into Locust (idempotent): options and the per-environment collector."""
    if getattr(register, "done", False):
        return
    _listen(events.init_command_line_parser, llm_options.add_arguments)
    _listen(events.init, install)
    register.done = True  # type: ignore[attr-defined]


def _listen(hook: Any, listener: Any) -> None:
    hook.add_listener(listener)
