"""``python -m pytest_aistack.cli.nightly``: bad arguments stop it before any stack starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_aistack.cli.nightly import main

REPO = Path(__file__).resolve().parents[1]


def test_missing_baseline_is_refused_before_the_stack_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "burst.json"
    code = main([str(REPO / "locustfiles" / "burst.py"), "--baseline", str(missing)])
    assert code == 2
    assert capsys.readouterr().err == f"nightly: --baseline {missing}: no such file\n"


def test_missing_locustfile_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.py")]) == 2
    assert "nightly: no locustfile" in capsys.readouterr().err
