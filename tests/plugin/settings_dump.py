"""Running pytester with the plugin and reading the settings it resolved, or its usage error.

``resolved_settings`` runs one test that prints ``aistack_settings`` as JSON and returns it;
``usage_error`` runs pytest expecting exactly one ``ERROR:`` line and returns its message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

DUMP_TEST = """
import json
from dataclasses import asdict

def test_dump(aistack_settings):
    data = {k: (str(v) if v is not None and not isinstance(v, (bool, float, str)) else v)
            for k, v in asdict(aistack_settings).items()}
    print("SETTINGS=" + json.dumps(data))
"""

# Layers from lowest to highest precedence: the precedence tests give each its own value.
LAYERS = ("profile", "tool_aistack", "env", "cli")


def settings_in(result: pytest.RunResult) -> dict[str, Any]:
    for line in result.outlines:
        _, found, dump = line.partition("SETTINGS=")
        if found:
            data: dict[str, Any] = json.loads(dump)
            return data
    raise AssertionError("no settings dump in:\n" + result.stdout.str() + result.stderr.str())


def resolved_settings(pytester: pytest.Pytester, *args: str) -> dict[str, Any]:
    pytester.makepyfile(test_dump=DUMP_TEST)
    result = pytester.runpytest("-s", *args)
    result.assert_outcomes(passed=1)
    return settings_in(result)


def usage_error(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(test_dump=DUMP_TEST)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    errors = [line for line in result.errlines if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.errlines
    return errors[0].removeprefix("ERROR: ")
