"""playbooks/purge_history.yml on the controller, on both engines of the history store: records older than
asked are purged and the purge is recorded (who, why); the chain verifies after the purge and fails after an
edit (on PostgreSQL the row is edited with SQL); a PostgreSQL URL's password never appears in the output."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.controller import controller_playbook
from support.history_engines import history_engine  # noqa: F401  # pylint: disable=unused-import

pytestmark = pytest.mark.slow


def playbook(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    return controller_playbook(tmp_path, "playbooks/purge_history.yml", "-e",
                               f"patchpilot_state_dir={tmp_path / 'state'}", *argv,
                               env={"USER": "auditor", "LOGNAME": "auditor"})


def test_a_purge_by_age_is_recorded_and_the_chain_still_catches_an_edit(history_engine, tmp_path):
    now = datetime.now(timezone.utc)
    store = history_engine.open()
    store.append([{"kind": "run", "run_id": f"r{age}", "at": (now - timedelta(days=age)).isoformat()}
                  for age in (400, 380, 200, 10, 1)])
    store.close()
    common = ("-e", f"patchpilot_history_store={history_engine.spec}", "-e", "patchpilot_history_keep_days=365",
              "-e", '{"patchpilot_history_purge_reason": "retention: one year"}')
    checked = playbook(tmp_path, *common, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "records 1-2 (2) older than" in checked.stdout and "would be purged" in checked.stdout

    done = playbook(tmp_path, *common)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "purged by auditor" in done.stdout and "chain: verifies (4 records)" in done.stdout
    store = history_engine.open()
    assert [r["run_id"] for r in store.records()] == ["r200", "r10", "r1", None]
    purge = store.records("kind = ?", ("purge",))[0]["data"]
    assert purge["by"] == "auditor" and purge["reason"] == "retention: one year" and purge["removed_ids"] == [1, 2]
    assert store.verify()["ok"]

    history_engine.sql("UPDATE records SET run_id = 'r-forged' WHERE id = 4")  # behind the store's back
    assert store.verify()["broken_at"] == 4
    refused = playbook(tmp_path, *common)
    assert refused.returncode != 0 and "the chain breaks at record 4" in refused.stdout
    for proc in (checked, done, refused):
        if history_engine.server is not None:
            assert history_engine.server.password not in proc.stdout + proc.stderr
