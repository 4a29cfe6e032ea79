"""playbooks/break_lock.yml, on the controller only: a lock left by a vanished AWX runner is
listed, broken by the documented command (``ansible-playbook patchpilot.fleet.break_lock``),
the breaking is recorded, and a later run takes the lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir, RunLock, write_json  # noqa: E402

pytestmark = pytest.mark.slow

RUN_ID = "20261201T020000Z-feed01"
SCOPE = "inventory:/srv/awx/inventory.yml|limit:all"
TAKE = """\
- name: A later run takes the lock of the scope
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Take the run lock
      patchpilot.fleet.run_lock:
        base_dir: "{{ patchpilot_run_base }}"
        scope: "{{ pp_scope }}"
        run_id: later-run
"""


def playbook(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n",
                         encoding="utf-8")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inventory), "-e", f"patchpilot_run_base={tmp_path / 'runs'}",
                           *argv], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=env)
    proc.stdout = " ".join(proc.stdout.split())  # the YAML output folds long lines
    return proc


def test_a_lock_of_a_vanished_runner_is_broken_recorded_and_taken_again(tmp_path):
    runs = tmp_path / "runs"
    run = RunDir(str(runs), RUN_ID)
    run.start({"format": 2, "run_id": RUN_ID, "hosts": [{"host": "web1", "wave": 0}]}, SCOPE)
    lock = RunLock(str(runs), SCOPE)
    os.makedirs(lock.folder)
    owner = {"format": 1, "pid": 31337, "pid_start": 99, "host": "vanished-runner-7",
             "started": "2026-12-01T02:00:00+00:00", "run_id": RUN_ID, "scope": SCOPE, "token": "0badc0de",
             "user": "alice", "job_id": "4711"}
    write_json(lock.path, owner)
    take = tmp_path / "take.yml"
    take.write_text(TAKE, encoding="utf-8")

    proc = playbook(tmp_path, str(take), "-e", f"pp_scope={SCOPE}")
    assert proc.returncode != 0 and "another machine" in proc.stdout, proc.stdout + proc.stderr

    proc = playbook(tmp_path, "patchpilot.fleet.break_lock")  # the listing
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{lock.key}.lock: run {RUN_ID} by alice, AWX job 4711: pid 31337 on vanished-runner-7" in proc.stdout
    assert os.path.exists(lock.path)

    proc = playbook(tmp_path, "patchpilot.fleet.break_lock", "-e", f"patchpilot_lock={RUN_ID}")
    assert proc.returncode != 0 and "patchpilot_lock_reason" in proc.stdout and os.path.exists(lock.path)

    proc = playbook(tmp_path, "patchpilot.fleet.break_lock", "-e", f"patchpilot_lock={RUN_ID}",
                    "-e", json.dumps({"patchpilot_lock_reason": "AWX job 4711 was killed with its container"}),
                    "-e", json.dumps({"awx_user_name": "ops-bob", "awx_job_id": 4712}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"lock {lock.key}.lock is broken: run {RUN_ID} by alice" in proc.stdout
    assert "broken by ops-bob on " in proc.stdout and not os.path.exists(lock.path)

    broken = runs / "locks" / "broken.jsonl"
    assert oct(broken.stat().st_mode & 0o777) == "0o600"
    records = [json.loads(line) for line in broken.read_text().splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["owner"] == owner and record["reason"] == "AWX job 4711 was killed with its container"
    assert record["broken_by"] == {"user": "ops-bob", "job_id": "4712", "host": socket.gethostname()}
    assert record["owner_where"] == "another machine" and record["broken_at"]
    assert run.run["events"] == [{"event": "lock_broken", "at": record["broken_at"], "detail": record}]

    proc = playbook(tmp_path, str(take), "-e", f"pp_scope={SCOPE}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(Path(lock.path).read_text())["run_id"] == "later-run"
