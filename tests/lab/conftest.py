"""The suite's own lab: brought up once per session under its own prefix, removed at the end.

It never touches the lab the README's main command made (prefix ``pplab``): it
uses prefix ``pptest``, its own subnet, ports and state directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labkit import ROOT, TEST_PREFIX, Lab, run_lab


@pytest.fixture(scope="session")
def lab() -> Lab:
    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (run them through ./dev test)")
    proc = run_lab("up")
    if proc.returncode != 0:
        pytest.fail(f"lab up failed ({proc.returncode}):\n{proc.stderr[-4000:]}\n{proc.stdout[-2000:]}")
    state_file = ROOT / ".lab" / TEST_PREFIX / "state.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    yield Lab(state=state, hosts=state["hosts"])
    if not os.environ.get("PATCHPILOT_KEEP_LAB"):
        down = run_lab("down")
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="session")
def manifest(lab) -> dict:
    return json.loads((Path(lab.state["repo_dir"]) / "manifest.json").read_text(encoding="utf-8"))
