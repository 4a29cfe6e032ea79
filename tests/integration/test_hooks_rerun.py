"""A rerun runs a host's hooks again: the state file keeps each hook once, and its undo runs once.

The hooks role runs for real on the controller (``localhost``, local connection), three times
with the same state file, as three ansible-playbook runs of one patch run would: the pre_host
hooks, the same hooks again (the rerun of an interrupted run), then the undo of a host that
failed. The suite's HTTP server on loopback counts the calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.servers import http_server  # noqa: F401  # pylint: disable=unused-import

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
if str(ROOT / ".ansible" / "collections") not in sys.path:  # the checkout's link, as ansible.cfg finds it
    sys.path.insert(0, str(ROOT / ".ansible" / "collections"))
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import validate_policy  # noqa: E402

pytestmark = pytest.mark.slow

PLAY = """\
- name: The pre_host hooks of one host, or their undo
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run or undo the hooks
      ansible.builtin.include_role:
        name: patchpilot.fleet.hooks
      vars:
        hooks_phase: pre_host
        hooks_list: "{{ pp_policy.hooks.pre_host }}"
        hooks_run_id: run-9
        hooks_state_file: "{{ pp_state_file }}"
        hooks_undo: "{{ pp_undo }}"
        hooks_become: false
"""


def run(tmp_path: Path, variables: dict, undo: bool) -> subprocess.CompletedProcess:
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY, encoding="utf-8")
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n",
                         encoding="utf-8")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**variables, "pp_undo": undo}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inventory), "-e", f"@{extra}", str(playbook)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env)


def test_a_rerun_keeps_each_hook_once_and_its_undo_runs_once(tmp_path, http_server):
    policy = validate_policy({"version": 2, "reboot": "never", "hooks": {"pre_host": [
        {"name": "drain", "url": http_server.url + "/drain/{host}",
         "undo": {"name": "enable", "url": http_server.url + "/enable/{host}", "method": "PUT"}},
        {"name": "note", "command": ["true"], "on": "controller"},
    ]}})
    state = tmp_path / "hooks.json"
    variables = {"pp_policy": policy, "pp_state_file": str(state)}

    for attempt in ("first run", "rerun"):
        proc = run(tmp_path, variables, undo=False)
        assert proc.returncode == 0, f"{attempt}:\n{proc.stdout[-4000:]}"
        assert [(e["phase"], e["name"]) for e in json.loads(state.read_text(encoding="utf-8"))] == \
               [("pre_host", "drain"), ("pre_host", "note")], f"after the {attempt}"
    assert len(http_server.received("/drain/localhost")) == 2

    proc = run(tmp_path, variables, undo=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert [r.method for r in http_server.received("/enable/localhost")] == ["PUT"], "the undo did not run exactly once"
    assert json.loads(state.read_text(encoding="utf-8")) == []
