"""`aistack mock-llm` argument errors: exit 2 with a message naming the flag."""

from __future__ import annotations

import pytest

from pytest_aistack.cli import main


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--output-tokens", "lots"], "--output-tokens: output_tokens='lots' is invalid"),
        (["--ttft-ms", "-5"], "--ttft-ms: ttft_ms=-5.0 is invalid"),
        (["--queue-depth", "-1"], "queue_depth=-1 must be >= 0 (CLI: --queue-depth)"),
        (["--embedding-dim", "0"], "(CLI: --embedding-dim)"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mock-llm", *argv]) == 2
    assert names in capsys.readouterr().err


def test_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["mock-llm", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--ttft-ms",
        "--itl-ms",
        "--max-concurrency",
        "--admin-token",
        "--drain-timeout-s",
    ):
        assert flag in out
