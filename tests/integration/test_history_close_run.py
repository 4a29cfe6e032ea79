"""playbooks/close_run.yml records the closed run in the history store (no inventory, no lab).

A run left running (web01 done, app01 staged) is closed by its id; the store then holds the
run ``aborted``, web01 ``done`` with its update verified and app01 ``abandoned`` (the closing
says so). The controller runs it alone, as an operator would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
if str(ROOT / ".ansible" / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store  # noqa: E402
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir  # noqa: E402

pytestmark = pytest.mark.slow

RUN_ID = "20261201T100000Z-c10sed"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def test_a_closed_run_is_recorded_in_the_store(tmp_path):
    state = tmp_path / "state"
    plan = {"format": 2, "run_id": RUN_ID, "created": T0.isoformat(), "change_ticket": "CHG-5",
            "waves": [{"wave": 1, "hosts": ["app01", "web01"]}],
            "hosts": [{"host": h, "status": "rollout", "wave": 1, "packages": [{"name": "openssl", "version": "3.0-2"}]}
                      for h in ("web01", "app01")]}
    run = RunDir(str(state / "runs"), RUN_ID)
    run.start(plan, ["web01", "app01"], at=T0)
    for phase in ("staged", "patched", "verified", "done"):
        run.record("web01", phase, {"installed": {"openssl": "3.0-2"}} if phase in ("patched", "done") else None, at=T0)
    run.record("app01", "staged", None, at=T0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(ROOT / "playbooks" / "close_run.yml"), "-e", f"patchpilot_run_id={RUN_ID}",
                           "-e", f"patchpilot_state_dir={state}", "-e", "patchpilot_close_reason=window missed"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    store = open_store(None, str(state))
    try:
        records = store.records("run_id = ?", (RUN_ID,))
    finally:
        store.close()
    assert [r["state"] for r in records if r["kind"] == "run"] == ["aborted"]
    assert {r["host"]: r["state"] for r in records if r["kind"] == "host"} == {"web01": "done", "app01": "abandoned"}
    assert [r["state"] for r in records if r["kind"] == "update" and r["host"] == "web01"][-1] == "verified"
