"""state_dirs action and the playbooks: the directories come from settings, never the current directory;
0.1's reports/ moves into them once (close_run.yml then closes a run 0.1 left there)."""

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

from ansible_collections.patchpilot.fleet.plugins.action import state_dirs
from ansible_collections.patchpilot.fleet.plugins.module_utils import statedir
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir

ROOT = Path(__file__).resolve().parents[4]
RUN_ID = "20261101T210000Z-a1b2c3"


def action(check_mode=False, **args):
    task = Task.load({"action": "patchpilot.fleet.state_dirs", "args": args, "check_mode": check_mode})
    plugin = state_dirs.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars={"inventory_hostname": "localhost"})


def test_the_action_makes_the_dirs_and_returns_the_layout(tmp_path):
    result = action(state_dir=str(tmp_path / "state"), report_dir=str(tmp_path / "reports"),
                    legacy_dir=str(tmp_path / "none"))
    assert result["changed"] and result["made"] == [str(tmp_path / "state"), str(tmp_path / "reports")]
    assert {key: result[key] for key in ("state_dir", "report_dir", "run_base", "plan_dir", "scan_dir")} == {
        "state_dir": str(tmp_path / "state"), "report_dir": str(tmp_path / "reports"),
        "run_base": str(tmp_path / "state" / "runs"), "plan_dir": str(tmp_path / "state" / "plans"),
        "scan_dir": str(tmp_path / "reports" / "scan")}
    assert result["migrated"] == [] and result["warnings"] == []
    again = action(state_dir=str(tmp_path / "state"), report_dir=str(tmp_path / "reports"),
                   legacy_dir=str(tmp_path / "none"))
    assert not again["changed"] and again["made"] == []


def test_the_action_refuses_with_one_message(tmp_path):
    with pytest.raises(AnsibleActionFail, match="state directories: patchpilot_state_dir is 'state', a relative path"):
        action(state_dir="state")
    (tmp_path / "open").mkdir(mode=0o777)
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(AnsibleActionFail, match=r"state directories: .*/open: the state directory may be written by"
                                                r" group or others \(mode 0777\)"):
        action(state_dir=str(tmp_path / "open"))


def test_the_env_and_the_pwd_of_the_action(tmp_path):
    env = {"PATCHPILOT_STATE_DIR": str(tmp_path / "s"), "PWD": str(tmp_path)}
    (tmp_path / "reports" / "plans").mkdir(parents=True)
    (tmp_path / "reports" / "plans" / "latest.json").write_text("{}")
    checked = state_dirs.state_dirs({}, env=env, check=True)
    assert checked["report_dir"] == str(tmp_path / "s" / "reports")
    assert checked["warnings"] == [f"upgrade from patchpilot 0.1: would move {tmp_path}/reports/plans to"
                                   f" {tmp_path}/s/plans"]
    assert (tmp_path / "reports" / "plans" / "latest.json").exists()
    moved = state_dirs.state_dirs({}, env=env)
    assert moved["changed"] and moved["migrated"] == [{"item": "plans", "from": f"{tmp_path}/reports/plans",
                                                      "to": f"{tmp_path}/s/plans"}]
    assert (tmp_path / "s" / "plans" / "latest.json").exists()


def test_close_run_finds_a_run_0_1_left_in_reports_and_moves_it_once(tmp_path):
    """The upgrade end to end: a 0.1 checkout's reports/runs/<id> is moved by the first playbook, which then
    closes that run in its new place; nothing is written to the current directory."""
    cwd = tmp_path / "checkout"
    legacy_runs = cwd / "reports" / "runs"
    RunDir(str(legacy_runs), RUN_ID).start({"format": 2, "run_id": RUN_ID, "hosts": [{"host": "web1", "wave": 0}]},
                                           "hosts:web1")
    state = tmp_path / "state"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PWD": str(cwd), "HOME": str(tmp_path / "home"),
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "PATCHPILOT_STATE_DIR": str(state)}
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), str(ROOT / "playbooks" / "close_run.yml"),
            "-e", f"patchpilot_run_id={RUN_ID}", "-e", "patchpilot_closed_by=ops"]
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"upgrade from patchpilot 0.1: moved {legacy_runs} to {state}/runs" in " ".join(out.split())
    assert f"run {RUN_ID} is closed (aborted)" in out
    assert json.loads((state / "runs" / RUN_ID / "run.json").read_text())["state"] == "aborted"
    assert os.listdir(cwd / "reports") == []  # moved, not copied
    assert json.loads((state / statedir.MARKER).read_text())["moved"][0]["item"] == "runs"

    # once: a second playbook does not move (nor warn) again
    again = subprocess.run(argv[:2] + ["-e", "patchpilot_run_id=20261101T210000Z-ffffff"], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=300, check=False)
    assert "upgrade from patchpilot 0.1" not in again.stdout + again.stderr
    assert "no run 20261101T210000Z-ffffff to load" in again.stdout + again.stderr
