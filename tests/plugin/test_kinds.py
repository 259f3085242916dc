"""The table of ``requires_*`` kinds, and the one reader of marker arguments."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, replace
from typing import Any

import pytest

from pytest_aistack.cli.doctor import check_parts
from pytest_aistack.plugin.markers import MARKERS
from pytest_aistack.requires.kinds import KINDS, RequirementKind
from pytest_aistack.requires.options import options_from_marker
from pytest_aistack.settings import SPECS_BY_NAME, Settings

DEFAULTS = Settings()


def test_every_requires_marker_comes_from_the_table() -> None:
    registered = [spec.name for spec in MARKERS if spec.name.startswith("requires_")]
    assert registered == [kind.marker for kind in KINDS]


def test_doctor_rows_follow_the_table() -> None:
    names = [part.name for part in check_parts(Settings(probe_timeout=0.2))]
    doctor_rows = [kind.doctor.part for kind in KINDS]
    assert names[-len(doctor_rows) :] == doctor_rows


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind.setting], ids=lambda k: k.marker)
def test_a_kind_probes_where_its_setting_points(kind: RequirementKind) -> None:
    assert kind.setting is not None
    spec = SPECS_BY_NAME[kind.setting]
    assert kind.hint == f"set {spec.env_var} or [tool.aistack] {kind.setting}"
    if kind.doctor.check is None:
        elsewhere: dict[str, Any] = {kind.setting: "http://probe.invalid:1"}
        probe = kind.probe(replace(DEFAULTS, **elsewhere), kind.options())
        assert probe is not None
        assert probe.where == "http://probe.invalid:1"
        assert spec.env_var in kind.doctor.fix


def test_doctor_rows_without_a_check_probe_by_default() -> None:
    for kind in KINDS:
        if kind.doctor.check is None:
            assert kind.probe(DEFAULTS, kind.options()) is not None, kind.marker
            assert kind.doctor.fix, kind.marker


def test_importing_the_plugin_does_not_import_the_probes() -> None:
    code = (
        "import sys, pytest_aistack.plugin; "
        "print(sorted({'httpx', 'pytest_aistack.requires.probes'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


@dataclass(frozen=True, kw_only=True)
class _Flags:
    quiet: bool = True
    name: str | None = None


def test_options_from_marker_reads_keywords() -> None:
    mark = pytest.mark.chaos(quiet=False, name="x").mark
    assert options_from_marker(mark, _Flags) == _Flags(quiet=False, name="x")


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (
            pytest.mark.chaos("x").mark,
            "@pytest.mark.chaos takes keyword arguments only, got positional 'x'; "
            "accepted: quiet=, name=",
        ),
        (
            pytest.mark.chaos(loud=True).mark,
            "@pytest.mark.chaos got unexpected keyword argument(s) loud; accepted: quiet=, name=",
        ),
        (
            pytest.mark.chaos(quiet="no").mark,
            "@pytest.mark.chaos(quiet=...) expects True or False, got str: 'no'",
        ),
        (
            pytest.mark.chaos(name=1).mark,
            "@pytest.mark.chaos(name=...) expects a string, got int: 1",
        ),
    ],
)
def test_options_from_marker_misuse(mark: pytest.Mark, message: str) -> None:
    with pytest.raises(TypeError) as caught:
        options_from_marker(mark, _Flags)
    assert str(caught.value) == message
