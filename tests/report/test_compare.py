"""``aistack compare``: tolerance grammar, verdicts, and clear errors for files it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_aistack.cli import main
from pytest_aistack.load.baseline import (
    ToleranceError,
    compare,
    parse_tolerances,
    tolerance_for,
)
from pytest_aistack.load.results import read_result

from .conftest import burst_run, write_load


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """(baseline, current): the current run's TTFT is 30 ms higher, everything else equal."""
    return (
        write_load(tmp_path / "base", "burst", burst_run()),
        write_load(tmp_path / "cur", "burst", burst_run(extra_ttft_ms=30)),
    )


def test_ttft_regression_is_found_and_nothing_else(files: tuple[Path, Path]) -> None:
    comparison = compare(read_result(files[0]), read_result(files[1]))
    regressed = {d.metric for d in comparison.regressions}
    # TTFT +30 ms on 50-190 ms; E2E +30 ms on 120-260 ms (over 15 %) only at p50.
    assert {"ttft_p50_ms", "ttft_p90_ms", "ttft_p95_ms", "ttft_p99_ms"} <= regressed
    assert not {m for m in regressed if m.startswith(("itl", "tpot", "error", "output"))}
    assert not comparison.passed


def test_identical_runs_pass(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(files[0]), str(files[0])]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "compare passed: none of 24 metrics regressed beyond tolerance"


def test_tolerances_from_options_and_a_file(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline, current = map(str, files)
    assert main(["compare", "-t", "ttft_*=off, e2e_*=off", baseline, current]) == 0
    capsys.readouterr()
    terms = tmp_path / "tolerances.txt"
    terms.write_text("# latency is allowed 40 ms more\n*_ms = 5% min 40ms\n")
    assert main(["compare", "-t", f"@{terms}", baseline, current]) == 0
    assert "+5% min 40ms" in capsys.readouterr().out
    # Later terms override earlier ones.
    assert main(["compare", "-t", f"@{terms}", "-t", "ttft_p50_ms=1%", baseline, current]) == 1
    assert "- ttft_p50_ms: " in capsys.readouterr().out


def test_tolerance_grammar() -> None:
    terms = parse_tolerances("ttft_*=20%, *_p99_ms=10% min 3ms, error_rate=0.005, itl_*=off")
    assert tolerance_for("ttft_p50_ms", terms).allowance(100.0) == pytest.approx(20.0)
    assert tolerance_for("ttft_p99_ms", terms).allowance(10.0) == pytest.approx(3.0)
    assert tolerance_for("e2e_p99_ms", terms).allowance(100.0) == pytest.approx(10.0)
    assert tolerance_for("error_rate", terms).allowance(0.0) == pytest.approx(0.005)
    assert tolerance_for("itl_p50_ms", terms).off
    assert parse_tolerances("e2e_p50_ms=1s")[0][1].absolute == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ttft_p99=10%", "tolerance 'ttft_p99=10%' names no metric; metrics are ttft_p50_ms"),
        ("ttft_p99_ms<=10%", "cannot parse tolerance 'ttft_p99_ms<=10%'; expected NAME=15%"),
        ("ttft_p99_ms=ten", "cannot parse tolerance 'ttft_p99_ms=ten'"),
        ("@/nonexistent/tol.txt", "cannot read tolerance file /nonexistent/tol.txt"),
    ],
)
def test_bad_tolerances_name_the_term(text: str, message: str) -> None:
    with pytest.raises(ToleranceError, match=message.replace("*", r"\*")):
        parse_tolerances(text, source="--tolerance")


def test_throughput_drop_and_error_rate_rise_regress(tmp_path: Path) -> None:
    base = read_result(write_load(tmp_path / "a", "burst", burst_run()))
    # A longer burst: more 429s, a higher error rate.
    worse = read_result(write_load(tmp_path / "b", "burst", burst_run(burst=(2, 18))))
    regressed = {d.metric: d for d in compare(base, worse).regressions}
    assert "error_rate" in regressed
    assert regressed["error_rate"].describe().startswith("error_rate: 0.1875 -> ")


def test_no_samples_in_the_current_run_is_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_aistack.metrics import RunMetrics
    from pytest_aistack.metrics.slo import parse_slo

    base = write_load(tmp_path / "a", "burst", burst_run())
    empty = write_load(tmp_path / "b", "burst", RunMetrics(parse_slo("error_rate<=0.05")))
    assert main(["compare", str(base), str(empty)]) == 1
    assert "- ttft_p50_ms: baseline 84.9674 ms, this run has no samples" in capsys.readouterr().out


def test_unreadable_and_foreign_files_exit_2(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["compare", str(missing), str(files[1])]) == 2
    assert f"aistack compare: cannot read load result {missing}: No such file" in (
        capsys.readouterr().err
    )
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"gateway": "x"}))
    assert main(["compare", str(files[0]), str(profile)]) == 2
    err = capsys.readouterr().err
    assert f"{profile}: not a pytest-aistack/load-result file" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["compare", str(files[0]), str(broken)]) == 2
    assert f"{broken}: not JSON" in capsys.readouterr().err


def test_runs_of_different_setups_are_refused_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_load(tmp_path / "a", "burst", burst_run())
    other = write_load(tmp_path / "b", "burst", burst_run(), model="qwen", users_max=64)
    assert main(["compare", str(base), str(other)]) == 2
    err = capsys.readouterr().err
    assert "are runs of different set-ups:" in err
    assert "- run.model: baseline 'mock-model', current 'qwen'" in err
    assert "- run.users_max: baseline 12, current 64" in err
    assert "--allow-mismatch" in err
    assert main(["compare", "--allow-mismatch", str(base), str(other)]) == 0
    assert "warning: set-ups differ (--allow-mismatch): run.model" in capsys.readouterr().out


def test_markdown_format(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--format", "markdown", str(files[0]), str(files[1])]) == 1
    out = capsys.readouterr().out
    assert out.startswith("### Baseline compare: **REGRESSION**\n")
    assert "| metric | baseline | current | delta | change | tolerance | verdict |" in out
    # 85 and 115 ms as the histogram reports them (bucket midpoints, <= 0.05 % off).
    row = "| ttft_p50_ms | 84.9674 | 114.983 | +30.0155 | +35.3% | +15% min 2ms | REGRESSION |"
    assert row in out
