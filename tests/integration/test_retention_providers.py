"""Retention on the controller: three cycles with ``keep: {runs: 1}`` leave exactly one snapshot.

* aws_ebs on the moto server: each cycle runs the snapshot role (EBS snapshots tagged with the
  run id) and then the retention role; afterwards only the last run's snapshots exist;
* lvm by its executed command plan: the lab has no device-mapper, so each cycle's snapshot.json
  is the snapshot role's record of an LVM snapshot (the plan of lvm_plan.py) and ``lvremove`` is
  a stand-in on PATH that logs its argv: the argv lists the role ran are asserted.

Each cycle is a run directory (runrecord.RunDir) started before and finished after it, as
playbooks/patch.yml does; the retention role reads them as it does in a run.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from test_aws_ebs import ec2, make_instance, output, run_play, snapshot_vars  # noqa: F401  # pylint: disable=unused-import

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils import lvm_plan, runrecord  # noqa: E402

pytestmark = pytest.mark.slow

HOST = "localhost"
START = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)

CYCLE_PLAY = """\
- name: One cycle of a host - snapshot, then retention
  hosts: all
  gather_facts: false
  become: false
  tasks:
    - name: Take the snapshot
      ansible.builtin.include_role:
        name: patchpilot.fleet.snapshot
      when: take_snapshot | default(true)
    - name: Remove the older snapshots
      ansible.builtin.include_role:
        name: patchpilot.fleet.retention
    - name: Save the result
      ansible.builtin.copy:
        content: "{{ retention_result | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


def start_run(base: Path, number: int) -> runrecord.RunDir:
    run_id = f"20261201T22000{number}Z-c{number}"
    plan = {"format": 2, "run_id": run_id, "settings": {}, "waves": [{"wave": 0, "hosts": [HOST]}],
            "hosts": [{"host": HOST, "wave": 0, "packages": [], "removals": []}]}
    run_dir = runrecord.RunDir(str(base), run_id)
    run_dir.start(plan, "hosts:localhost", at=START + timedelta(hours=number))
    return run_dir


def cycle(tmp_path: Path, moto_server, run_dir: runrecord.RunDir, variables: dict, env=None):
    result = tmp_path / f"result-{run_dir.run_id}.json"
    variables = dict(variables, retention_base_dir=run_dir.base_dir, retention_run_id=run_dir.run_id,
                     retention_keep={"runs": 1}, snapshot_run_id=run_dir.run_id,
                     snapshot_archive_dir=run_dir.archive_dir(HOST), result_file=str(result))
    proc = run_play(tmp_path, moto_server, CYCLE_PLAY, variables, f"cycle-{run_dir.run_id}") if env is None \
        else run_local(tmp_path, variables, env, f"cycle-{run_dir.run_id}")
    assert proc.returncode == 0, output(proc)
    run_dir.finish("completed", at=START + timedelta(hours=int(run_dir.run_id[-1]), minutes=30))
    return json.loads(result.read_text(encoding="utf-8"))


def test_three_cycles_keep_one_set_of_ebs_snapshots(tmp_path, moto_server, ec2):  # noqa: F811
    instance, _data = make_instance(ec2)
    base = tmp_path / "runs"
    runs, results = [], []
    for number in (1, 2, 3):
        run_dir = start_run(base, number)
        runs.append(run_dir.run_id)
        results.append(cycle(tmp_path, moto_server, run_dir,
                             snapshot_vars(moto_server, Path(run_dir.archive_dir(HOST)), run_dir.run_id,
                                           snapshot_aws_instance_id=instance)))
    tagged = ec2.describe_snapshots(Filters=[{"Name": "tag-key", "Values": ["patchpilot_run_id"]}])["Snapshots"]
    by_run = {}
    for snap in tagged:
        run_id = {t["Key"]: t["Value"] for t in snap["Tags"]}["patchpilot_run_id"]
        by_run.setdefault(run_id, []).append(snap["SnapshotId"])
    # one snapshot per volume (root and data), of the last run only
    assert list(by_run) == [runs[2]] and len(by_run[runs[2]]) == 2, by_run
    assert [step["run_id"] for step in results[1]["removed"]] == [runs[0]]
    assert [step["run_id"] for step in results[2]["removed"]] == [runs[1]]
    assert results[2]["removed"][0]["provider"] == "aws_ebs"
    # the run records say what was removed, in the current run and in the removed one
    last = json.loads(Path(runrecord.RunDir.load(str(base), runs[2]).archive_dir(HOST), "retention.json")
                      .read_text(encoding="utf-8"))
    assert [step["run_id"] for step in last["removed"]] == [runs[1]]
    gone = runrecord.RunDir.load(str(base), runs[1]).host(HOST)["history"][-1]["detail"]["retention"]
    assert gone["snapshot_removed"] is True and gone["by_run"] == runs[2]
    assert sorted(gone["aws_ebs"]["snapshot_ids"]) == sorted(
        v["snapshot_id"] for v in json.loads(Path(runrecord.RunDir.load(str(base), runs[1]).archive_dir(HOST),
                                                  "snapshot.json").read_text())["aws_ebs"]["volumes"])


LVREMOVE = """#!/bin/sh
# A stand-in for lvremove: logs its argv, one JSON list a line.
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' lvremove "$@" >> {log}
"""


def run_local(tmp_path: Path, variables: dict, env: dict, name: str):
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n",
                         encoding="utf-8")
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(CYCLE_PLAY, encoding="utf-8")
    extra = tmp_path / f"{name}-vars.json"
    extra.write_text(json.dumps(variables), encoding="utf-8")
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra}",
            str(playbook)]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_three_cycles_keep_one_lvm_snapshot_by_its_command_plan(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "lvremove.log"
    stand_in = bin_dir / "lvremove"
    stand_in.write_text(LVREMOVE.format(log=shlex.quote(str(log))), encoding="utf-8")
    stand_in.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", ANSIBLE_NOCOLOR="1")
    base = tmp_path / "runs"
    runs, plans = [], []
    for number in (1, 2, 3):
        run_dir = start_run(base, number)
        runs.append(run_dir.run_id)
        # what the snapshot role's lvm provider writes (roles/snapshot/tasks/lvm.yml, take.yml)
        plan = lvm_plan.plan("vg0", "root", "1G", run_dir.run_id)
        plans.append(plan)
        os.makedirs(run_dir.archive_dir(HOST))
        Path(run_dir.archive_dir(HOST), "snapshot.json").write_text(json.dumps({
            "format": 1, "host": HOST, "run_id": run_dir.run_id, "provider": "lvm",
            "taken_at": (START + timedelta(hours=number)).isoformat(), "lvm": plan}), encoding="utf-8")
        cycle(tmp_path, None, run_dir, {"take_snapshot": False}, env=env)
    executed = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert executed == [["lvremove", "--force", f"vg0/root-ppsnap-{runs[0]}"],
                        ["lvremove", "--force", f"vg0/root-ppsnap-{runs[1]}"]]
    assert executed == [plans[0]["cleanup_argv"], plans[1]["cleanup_argv"]]
    # exactly one LVM snapshot is left: the last run's, never removed
    assert f"vg0/root-ppsnap-{runs[2]}" not in json.dumps(executed)
