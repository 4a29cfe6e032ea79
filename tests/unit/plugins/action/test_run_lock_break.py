"""run_lock_break action: list the locks, break one by name, refuse a live one; run_lock names its user."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import run_lock, run_lock_break
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir, RunLock, write_json

NOW = "2026-12-06T10:00:00+00:00"
SCOPE = "hosts:web1,web2"
RUN_ID = "20261201T020000Z-abcdef"


def action(module, task_vars=None, check_mode=False, **args):
    task = Task.load({"action": f"patchpilot.fleet.{module.__name__.rsplit('.', 1)[-1]}", "args": args,
                      "check_mode": check_mode})
    plugin = module.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars=task_vars or {})


def plant(base, host="vanished-runner-7", pid=4242, run_id=RUN_ID):
    lock = RunLock(str(base), SCOPE)
    os.makedirs(lock.folder, exist_ok=True)
    owner = {"format": 1, "pid": pid, "pid_start": None, "host": host, "started": "2026-12-01T02:00:00+00:00",
             "run_id": run_id, "scope": SCOPE, "token": "abc", "user": "alice", "job_id": "4711"}
    write_json(lock.path, owner)
    return lock, owner


def test_run_lock_names_the_awx_user_and_job(tmp_path):
    taken = action(run_lock, {"awx_user_name": "alice", "awx_job_id": 4711}, base_dir=str(tmp_path), scope=SCOPE,
                   run_id="r1")
    assert taken["owner"]["user"] == "alice" and taken["owner"]["job_id"] == "4711"


def test_listing_breaks_nothing(tmp_path):
    lock, owner = plant(tmp_path)
    listed = action(run_lock_break, base_dir=str(tmp_path))
    assert listed["changed"] is False and listed["broken"] is None
    assert listed["locks"][0]["lock"] == os.path.basename(lock.path) and listed["locks"][0]["owner"] == owner
    assert "by alice, AWX job 4711" in listed["locks"][0]["says"]
    assert os.path.exists(lock.path)


def test_a_lock_of_a_vanished_machine_is_broken_and_recorded_in_the_run(tmp_path):
    run = RunDir(str(tmp_path), RUN_ID)
    run.start({"format": 2, "run_id": RUN_ID, "hosts": [{"host": "web1", "wave": 0}]}, SCOPE)
    lock, owner = plant(tmp_path)
    checked = action(run_lock_break, check_mode=True, base_dir=str(tmp_path), lock=RUN_ID, reason="job killed")
    assert checked["changed"] and os.path.exists(lock.path) and "events" not in run.run
    result = action(run_lock_break, {"awx_user_name": "ops"}, base_dir=str(tmp_path), lock=RUN_ID,
                    reason="job killed", now=NOW)
    assert result["changed"] and not os.path.exists(lock.path) and result["locks"] == []
    record = result["broken"]
    assert record["owner"] == owner and record["reason"] == "job killed" and record["broken_at"] == NOW
    assert record["broken_by"] == {"user": "ops", "job_id": None, "host": socket.gethostname()}
    lines = (tmp_path / "locks" / "broken.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [record]
    assert run.run["events"] == [{"event": "lock_broken", "at": NOW, "detail": record}]
    assert result["run_event"] == run.run_path


def test_a_live_lock_of_this_machine_a_missing_reason_or_an_unknown_name_changes_nothing(tmp_path):
    lock, _owner = plant(tmp_path, host=socket.gethostname(), pid=os.getpid())
    with pytest.raises(AnsibleActionFail, match="live process of this machine"):
        action(run_lock_break, base_dir=str(tmp_path), lock=lock.key, reason="sure")
    with pytest.raises(AnsibleActionFail, match="patchpilot_lock_reason"):
        action(run_lock_break, base_dir=str(tmp_path), lock=lock.key)
    with pytest.raises(AnsibleActionFail, match="no lock named nope"):
        action(run_lock_break, base_dir=str(tmp_path), lock="nope", reason="x")
    assert os.path.exists(lock.path) and not (tmp_path / "locks" / "broken.jsonl").exists()


def test_a_dead_process_of_this_machine_is_broken_without_a_run_directory(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    lock, _owner = plant(tmp_path, host=socket.gethostname(), pid=proc.pid, run_id="never-started")
    result = action(run_lock_break, base_dir=str(tmp_path), lock=os.path.basename(lock.path), reason="crashed")
    assert result["broken"]["owner_where"] == "this machine" and result["run_event"] is None
    assert not os.path.exists(lock.path)
