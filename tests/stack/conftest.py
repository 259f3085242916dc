from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run records of these tests never mix with (or reap) real runs on this machine."""
    state = tmp_path / "state"
    monkeypatch.setenv("AISTACK_STATE_DIR", str(state))
    return state
