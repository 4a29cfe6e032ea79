"""run_rollback_source and run_rollback_record actions, and playbooks/rollback.yml's refusals (on the controller)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import run_rollback_record, run_rollback_source
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir, write_json

ROOT = Path(__file__).resolve().parents[4]
RUN_ID = "20261127T210000Z-a1b2c3"
NOW = "2026-12-06T10:00:00+00:00"
DEB = {"name": "pplab-web", "version": "1.0-1", "file": "pplab-web_1.0-1_all.deb", "sha256": "aa"}


def action(module, host="web1", task_vars=None, **args):
    task = Task.load({"action": f"patchpilot.fleet.{module.__name__.rsplit('.', 1)[-1]}", "args": args})
    plugin = module.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars={"inventory_hostname": host, **(task_vars or {})})


def finished_run(base, state="completed"):
    run = RunDir(str(base), RUN_ID)
    hosts = [{"host": "web1", "wave": 0, "settings": {"health_checks": {"services": ["nginx"]}}},
             {"host": "db1", "wave": 0}]
    run.start({"format": 2, "run_id": RUN_ID, "hosts": hosts}, "hosts:db1,web1")
    for phase in ("preflight", "staged", "snapshotted", "patched", "verified", "done"):
        run.record("web1", phase)
    run.record("db1", "preflight")
    run.record("db1", "failed")
    snapshot = {"format": 1, "host": "web1", "run_id": RUN_ID, "provider": "package",
                "packages": {"pplab-web": "1.0-1"}, "package": {"debs": [DEB]}}
    os.makedirs(run.archive_dir("web1"))
    write_json(os.path.join(run.archive_dir("web1"), "snapshot.json"), snapshot)
    if state != "running":
        run.finish(state)
    return run


def test_the_source_of_a_done_host_names_what_the_run_kept(tmp_path):
    run = finished_run(tmp_path)
    found = action(run_rollback_source, base_dir=str(tmp_path), run_id=RUN_ID)
    assert found["changed"] is False and found["phase"] == "done" and found["archive_dir"] == run.archive_dir("web1")
    assert found["host_dir"] == f"/var/cache/patchpilot/runs/{RUN_ID}"
    assert found["health_checks"] == {"services": ["nginx"]} and found["entry"]["host"] == "web1"
    assert found["kept"]["debs"] == {DEB["file"]: "aa"} and found["kept"]["baseline"] == {"pplab-web": "1.0-1"}


@pytest.mark.parametrize("host,run_id,match", [
    ("web1", "20990101T000000Z-ffffff", "unknown run id 20990101T000000Z-ffffff"),
    ("ghost", RUN_ID, "ghost is not a host of run"),
    ("db1", RUN_ID, "db1 was not changed by run"),
    ("web1", "", "name the finished run"),
])
def test_refusals_name_the_problem(tmp_path, host, run_id, match):
    finished_run(tmp_path)
    with pytest.raises(AnsibleActionFail, match=match):
        action(run_rollback_source, host=host, base_dir=str(tmp_path), run_id=run_id)


def test_a_running_run_is_refused(tmp_path):
    finished_run(tmp_path, state="running")
    with pytest.raises(AnsibleActionFail, match="still unfinished"):
        action(run_rollback_source, base_dir=str(tmp_path), run_id=RUN_ID)


def test_the_record_says_rolled_back_later_by_whom_with_the_two_facts(tmp_path):
    run = finished_run(tmp_path)
    done = action(run_rollback_record, task_vars={"awx_user_name": "alice"}, base_dir=str(tmp_path), run_id=RUN_ID,
                  detail={"versions_restored": True, "healthy": False}, source="the host's cache", now=NOW)
    assert done["phase"] == "rolled_back" and run.host("web1")["phase"] == "rolled_back"
    entry = run.host("web1")["history"][-1]
    assert entry["at"] == NOW and entry["detail"]["by"] == {"user": "alice", "job_id": None}
    assert entry["detail"]["later"] is True and entry["detail"]["healthy"] is False
    with pytest.raises(AnsibleActionFail, match="rolled_back, cannot be rolled back later"):
        action(run_rollback_record, base_dir=str(tmp_path), run_id=RUN_ID, detail={})


def playbook(tmp_path, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    web1: {ansible_connection: local}\n    ghost: {ansible_connection: local}\n")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                           str(ROOT / "playbooks" / "rollback.yml"), "-e", f"patchpilot_run_base={tmp_path / 'runs'}",
                           *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    proc.stdout = " ".join(proc.stdout.split())
    return proc


def test_the_playbook_refuses_without_limit_and_for_a_host_not_in_the_run(tmp_path):
    finished_run(tmp_path / "runs")
    proc = playbook(tmp_path, "-e", f"patchpilot_run_id={RUN_ID}")
    assert proc.returncode != 0 and "name the hosts to roll back with --limit" in proc.stdout, proc.stdout
    proc = playbook(tmp_path, "-e", f"patchpilot_run_id={RUN_ID}", "--limit", "ghost")
    assert proc.returncode != 0 and f"ghost is not a host of run {RUN_ID}" in proc.stdout, proc.stdout
