"""history_purge action: purges by age or before a time, says who and why, refuses a broken chain and bad input."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import history_purge
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store

NOW = "2026-12-06T12:00:00+00:00"


def action(task_vars=None, check_mode=False, **args):
    task = Task.load({"action": "patchpilot.fleet.history_purge", "args": dict({"now": NOW}, **args)})
    task.check_mode = check_mode
    plugin = history_purge.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars=task_vars or {})


@pytest.fixture
def state(tmp_path):
    store = open_store(None, str(tmp_path))
    store.append([{"kind": "run", "run_id": f"r{day}", "at": f"2026-11-{day:02d}T10:00:00+00:00"} for day in range(1, 11)])
    store.close()
    return str(tmp_path)


def test_keep_days_purges_the_older_records_and_records_who_and_why(state):
    result = action({"awx_user_name": "ops", "awx_job_id": 42}, state_dir=state, keep_days=30, reason="retention")
    assert result["changed"] and result["before"] == "2026-11-06T12:00:00+00:00"
    assert result["purged"]["removed_ids"] == [1, 6] and result["purged"]["by"] == "ops (AWX job 42)"
    assert result["chain"]["ok"] and result["chain"]["anchor"]["after_id"] == 6
    store = open_store(None, state)
    purge = store.records("kind = ?", ("purge",))[0]
    assert purge["data"]["reason"] == "retention" and purge["data"]["by"] == "ops (AWX job 42)"
    store.close()


def test_check_mode_says_what_would_go_and_changes_nothing(state):
    result = action(check_mode=True, state_dir=state, before="2026-11-04", reason="retention")
    assert not result["changed"] and result["purged"]["count"] == 3
    store = open_store(None, state)
    assert len(store.records()) == 10
    store.close()


def test_nothing_that_old_changes_nothing(state):
    result = action(state_dir=state, before="2026-01-01", reason="retention")
    assert not result["changed"] and result["purged"] is None and result["chain"]["checked"] == 10


@pytest.mark.parametrize("args, message", [
    ({"reason": "r"}, "give either"),
    ({"keep_days": 30}, "say why"),
    ({"keep_days": 0, "reason": "r"}, "keep at least 1 day"),
    ({"before": "2027-01-01", "reason": "r"}, "lies in the future"),
    ({"keep_days": 30, "reason": "r", "history_store": "postgresql://u:t0psecret@127.0.0.1:1/db"}, "cannot connect"),
])
def test_bad_requests_fail_with_one_message_and_no_secret(state, args, message):
    with pytest.raises(AnsibleActionFail, match=message) as caught:
        action(state_dir=state, **args)
    assert "t0psecret" not in str(caught.value)


def test_a_broken_chain_is_refused(state, tmp_path):
    import sqlite3  # pylint: disable=import-outside-toplevel

    raw = sqlite3.connect(tmp_path / "history.sqlite")
    raw.execute("UPDATE records SET run_id = 'forged' WHERE id = 2")
    raw.commit()
    raw.close()
    with pytest.raises(AnsibleActionFail, match="chain breaks at record 2"):
        action(state_dir=state, keep_days=1, reason="cover it up")
