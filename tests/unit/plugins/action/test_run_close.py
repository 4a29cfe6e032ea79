"""run_close action and playbooks/close_run.yml: a stuck run is closed, and patch.yml's `find` no longer resumes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import run_close, run_open
from ansible_collections.patchpilot.fleet.plugins.module_utils.planner import policy_digest
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir, RunLock

ROOT = Path(__file__).resolve().parents[4]
PLAYBOOK = ROOT / "playbooks" / "close_run.yml"
RUN_ID = "20261127T210000Z-a1b2c3"
OLDER = "20261120T210000Z-000001"
NOW = "2026-11-28T02:00:00+00:00"


def action(module, check_mode=False, **args):
    task = Task.load({"action": f"patchpilot.fleet.{module.__name__.rsplit('.', 1)[-1]}", "args": args,
                      "check_mode": check_mode})
    plugin = module.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars={"inventory_hostname": "web1"})


def find(base, scope):
    """What patch.yml asks to decide whether to resume (run_open)."""
    opened = action(run_open, base_dir=str(base), scope=scope, policy={})
    return {"changed": opened["changed"], "found": opened["resume"], "run_id": opened["run_id"] if opened["resume"] else None}


def start(base, run_id, scope, phases=None):
    """A run of web1 (wave 0), web2 and db1 (wave 1), with ``phases`` recorded."""
    run = RunDir(str(base), run_id)
    hosts = [{"host": "web1", "wave": 0}, {"host": "web2", "wave": 1}, {"host": "db1", "wave": 1}]
    run.start({"format": 2, "run_id": run_id, "hosts": hosts, "policy_digest": policy_digest({})}, scope)
    for host, path in (phases or {}).items():
        for phase in path:
            run.record(host, phase)
    return run


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


SCOPE = "hosts:db1,web1,web2"


def test_close_by_id_abandons_the_rest_and_find_no_longer_resumes_it(tmp_path):
    start(tmp_path, RUN_ID, SCOPE, {"web1": ["preflight", "staged", "snapshotted", "patched", "verified", "done"],
                                    "web2": ["preflight", "staged"]})
    assert find(tmp_path, SCOPE)["run_id"] == RUN_ID
    result = action(run_close, base_dir=str(tmp_path), run_id=RUN_ID, reason="window over", by="ops", now=NOW)
    assert result["changed"] and result["state"] == "aborted"
    assert result["abandoned"] == ["db1", "web2"] and result["kept"] == {"web1": "done"}
    assert result["phases"] == {"web1": "done", "db1": "abandoned", "web2": "abandoned"}
    assert result["lock"]["action"] == "none"
    run = json.loads((tmp_path / RUN_ID / "run.json").read_text())
    assert run["state"] == "aborted" and run["closed"] == {"by": "ops", "reason": "window over", "at": NOW,
                                                           "abandoned": ["db1", "web2"]}
    summary = json.loads((tmp_path / RUN_ID / "summary.json").read_text())
    assert summary["state"] == "aborted" and summary["phases"]["web2"] == "abandoned"
    assert find(tmp_path, SCOPE) == {"changed": False, "found": False, "run_id": None}


def test_an_unknown_or_ended_run_is_an_error_and_nothing_changes(tmp_path):
    start(tmp_path, OLDER, SCOPE).finish("completed")
    before = (tmp_path / OLDER / "run.json").read_text()
    with pytest.raises(AnsibleActionFail, match=f"run {OLDER} is completed already .*only a running run"):
        action(run_close, base_dir=str(tmp_path), run_id=OLDER)
    with pytest.raises(AnsibleActionFail, match="no run 20261127T210000Z-ffffff to load"):
        action(run_close, base_dir=str(tmp_path), run_id="20261127T210000Z-ffffff")
    with pytest.raises(AnsibleActionFail, match=f"no unfinished run of scope {SCOPE} in .*: nothing to close"):
        action(run_close, base_dir=str(tmp_path), scope=SCOPE)
    assert (tmp_path / OLDER / "run.json").read_text() == before
    assert not (tmp_path / "20261127T210000Z-ffffff").exists()


def test_a_live_lock_of_the_scope_refuses_and_a_stale_one_of_the_run_is_removed(tmp_path):
    start(tmp_path, RUN_ID, SCOPE)
    live = RunLock(str(tmp_path), SCOPE, run_id="20261128T010000Z-000009")
    live.acquire()  # this process: alive
    with pytest.raises(AnsibleActionFail, match=f"run {RUN_ID} is not closed: .* which is going on"):
        action(run_close, base_dir=str(tmp_path), run_id=RUN_ID)
    assert find(tmp_path, SCOPE)["run_id"] == RUN_ID
    live.release()

    stale = RunLock(str(tmp_path), SCOPE, run_id=RUN_ID)
    stale.acquire(owner_pid=dead_pid())
    checked = action(run_close, base_dir=str(tmp_path), run_id=RUN_ID, check_mode=True)
    assert checked["abandoned"] == ["web1", "db1", "web2"] and checked["lock"]["action"] == "remove"
    assert os.path.exists(stale.path) and find(tmp_path, SCOPE)["run_id"] == RUN_ID  # check mode: as it was
    result = action(run_close, base_dir=str(tmp_path), run_id=RUN_ID)
    assert result["lock"]["action"] == "remove" and not os.path.exists(stale.path)
    assert "@" in result["closed"]["by"] and result["closed"]["reason"] == "closed by hand"


# ---------------------------------------------------------------------------
# playbooks/close_run.yml
# ---------------------------------------------------------------------------

def playbook(tmp_path, inventory, *extra):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
            "-e", f"patchpilot_run_base={tmp_path / 'runs'}", *extra]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def inventory(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts:\n    web1: {ansible_connection: local}\n    web2: {ansible_connection: local}\n")
    return path


def test_the_playbook_closes_the_scopes_unfinished_run_by_id_or_by_scope(tmp_path, inventory):
    runs = tmp_path / "runs"
    scope = f"inventory:{os.path.realpath(inventory)}|limit:all"  # what patch.yml names the scope
    start(runs, OLDER, scope, {"web1": ["preflight", "failed"]})
    start(runs, RUN_ID, scope, {"web1": ["preflight", "staged"], "web2": ["preflight", "staged", "snapshotted"]})
    assert find(runs, scope)["run_id"] == RUN_ID

    proc = playbook(tmp_path, inventory, "-e", json.dumps({"patchpilot_close_reason": "the window of wave 1 is over"}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"run {RUN_ID} is closed (aborted): the window of wave 1 is over" in proc.stdout
    assert "abandoned (not patched by this run): web1, db1, web2" in proc.stdout
    assert "look at web2: abandoned after a snapshot was taken" in proc.stdout
    assert json.loads((runs / RUN_ID / "run.json").read_text())["closed"]["reason"] == "the window of wave 1 is over"
    assert find(runs, scope)["run_id"] == OLDER  # the newest is closed; the older one is still unfinished

    proc = playbook(tmp_path, inventory, "-e", f"patchpilot_run_id={OLDER}", "-e", "patchpilot_closed_by=ops")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"run {OLDER} is closed (aborted): closed by hand, by ops" in proc.stdout
    assert "kept: web1 failed" in proc.stdout
    assert find(runs, scope) == {"changed": False, "found": False, "run_id": None}

    proc = playbook(tmp_path, inventory, "-e", f"patchpilot_run_id={OLDER}")
    assert proc.returncode != 0
    assert f"run {OLDER} is aborted already" in proc.stdout + proc.stderr
    proc = playbook(tmp_path, inventory)
    assert proc.returncode != 0
    assert f"no unfinished run of scope {scope}" in proc.stdout + proc.stderr
