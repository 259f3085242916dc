"""The fallback scenario is collected once per fallback chain of the profile in use."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pytest_aistack.stack.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "fixtures" / "litellm" / "production.profile.yaml"


def collected(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "scenarios/test_group_down_fallback.py", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return re.findall(r"test_group_down_fallback\[(.+?)\]", out.stdout)


def test_one_case_per_chain_of_a_production_shaped_profile() -> None:
    profile = load_profile(PRODUCTION)
    with_fallbacks = [name for name, group in profile.model_groups.items() if group.fallbacks]
    assert len(with_fallbacks) == 16  # the fixture is shaped like users' configs
    assert collected(f"--aistack-profile={PRODUCTION}") == with_fallbacks


def test_the_reference_profile_has_its_one_chain() -> None:
    assert collected() == ["chat"]


def test_a_profile_without_fallbacks_gives_one_case_that_skips(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "gateway: {model_group: chat}\nbackends: {a: {model_group: chat}}\n"
        "model_groups: {chat: {deployments: [a]}}\n"
        "policy: {allowed_fails: 1, cooldown_s: 1, num_retries: 0, timeout_s: 1, "
        "stream_timeout_s: 1}\n"
    )
    assert collected(f"--aistack-profile={profile}") == ["none"]
