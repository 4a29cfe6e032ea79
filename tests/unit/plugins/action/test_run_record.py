"""run_record action: the paths it builds from host names stay inside the run directory."""

from __future__ import annotations

import json
import os
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import run_record

RUN_ID = "20261127T210000Z-a1b2c3"
NOW = "2026-11-27T21:00:00+00:00"
ESCAPING = "../../../escaped"
DPKG_QUERY = "openssl\t3.0.15-1~deb12u1\tii \nlibc6\t2.36-9+deb12u9\tii \n"


def act(base, **args):
    """Run the action on the controller with ``args``, as a task of host web1."""
    task = Task.load({"action": "patchpilot.fleet.run_record",
                      "args": dict(args, base_dir=str(base), run_id=RUN_ID, now=NOW)})
    plugin = run_record.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None,
                                     shared_loader_obj=None)
    return plugin.run(task_vars={"inventory_hostname": "web1"})


@pytest.fixture
def base(tmp_path):
    """A started run of two hosts: web1 in wave 0 and, outside any wave, a host whose name climbs out."""
    plan = {"format": 2, "run_id": RUN_ID, "hosts": [
        {"host": "web1", "wave": 0, "packages": [{"name": "openssl", "version": "3.0.15-1~deb12u1",
                                                  "from_version": "3.0.14-1~deb12u2"}]},
        {"host": ESCAPING, "wave": None, "packages": []},
    ]}
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    runs = tmp_path / "state" / "runs"
    act(runs, action="start", scope="hosts:web1", plan_file=str(plan_file))
    return runs


def test_observe_keeps_the_final_state_in_the_hosts_archive(base):
    loaded = act(base, action="load")
    assert loaded["archive_dirs"] == {"web1": str(base / RUN_ID / "archive" / "web1")}
    observed = act(base, action="observe", dpkg_query=DPKG_QUERY)
    assert observed["as_planned"] and observed["installed"]["openssl"] == "3.0.15-1~deb12u1"
    final = base / RUN_ID / "archive" / "web1" / "final.json"
    assert json.loads(final.read_text())["installed"] == observed["installed"]
    act(base, action="record", phase="done")
    finished = act(base, action="finish")
    assert finished["state"] == "completed" and finished["final"]["web1"]["as_planned"]
    assert json.loads((base / RUN_ID / "summary.json").read_text())["final"]["web1"]["host"] == "web1"


def test_observe_refuses_a_host_name_that_leads_out_of_the_run_directory(base, tmp_path):
    with pytest.raises(AnsibleActionFail, match="cannot name a host file"):
        act(base, action="observe", host=ESCAPING, dpkg_query=DPKG_QUERY)
    written = [os.path.join(folder, name) for folder, _dirs, names in os.walk(tmp_path) for name in names]
    assert not [path for path in written if "escaped" in path]
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "state" / "escaped").exists()


def test_a_run_id_with_white_space_is_refused(tmp_path):
    task = Task.load({"action": "patchpilot.fleet.run_record",
                      "args": {"action": "load", "base_dir": str(tmp_path), "run_id": "run 1"}})
    plugin = run_record.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None,
                                     shared_loader_obj=None)
    with pytest.raises(AnsibleActionFail, match="cannot name a run directory"):
        plugin.run(task_vars={})
