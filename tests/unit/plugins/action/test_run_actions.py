"""The run actions of playbooks/patch.yml, one job each: run_open, run_start, run_host_record,
run_host_final, run_wave_gate, run_wave_end, run_finish."""

from __future__ import annotations

import importlib
import json
import os
from datetime import datetime, timedelta, timezone
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.module_utils.planner import policy_digest

RUN_ID = "20261127T210000Z-a1b2c3"
NOW = "2026-11-27T21:00:00+00:00"
ESCAPING = "../../../escaped"
DPKG_QUERY = "openssl\t3.0.15-1~deb12u1\tii \nlibc6\t2.36-9+deb12u9\tii \n"
RECORDS = [{"name": "openssl", "arch": "amd64", "version": "3.0.15-1~deb12u1", "status": "installed"},
           {"name": "libc6", "arch": "amd64", "version": "2.36-9+deb12u9", "status": "installed"},
           {"name": "gone", "arch": "amd64", "version": "1.0", "status": "config-files"}]
POLICY = {"version": 2, "reboot": "if_required"}
SCOPE = "hosts:web1,web2"


def act(name, base, task_vars=None, **args):
    """Run action ``name`` on the controller with ``args``, as a task of host web1."""
    module = importlib.import_module(f"ansible_collections.patchpilot.fleet.plugins.action.{name}")
    args = dict({"run_id": RUN_ID, "now": NOW}, **args, base_dir=str(base))
    task = Task.load({"action": f"patchpilot.fleet.{name}", "args": {k: v for k, v in args.items() if v is not None}})
    plugin = module.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars=task_vars or {"inventory_hostname": "web1"})


def make_plan(run_id=RUN_ID, policy=None, created=NOW, **extra):
    return dict({"format": 2, "run_id": run_id, "created": created,
                 "policy_digest": policy_digest(POLICY if policy is None else policy),
                 "settings": {"notifications": [], "hooks": {"pre_wave": [], "post_wave": []}},
                 "budget": {"max_failed": 0},
                 "waves": [{"wave": 0, "canary": True, "hosts": ["web1"]}, {"wave": 1, "canary": False, "hosts": ["web2"]}],
                 "hosts": [
                     {"host": "web1", "wave": 0, "packages": [{"name": "openssl", "version": "3.0.15-1~deb12u1",
                                                               "from_version": "3.0.14-1~deb12u2"}], "removals": []},
                     {"host": "web2", "wave": 1, "packages": [{"name": "openssl", "version": "3.0.15-1~deb12u1",
                                                               "from_version": "3.0.14-1~deb12u2"}], "removals": []},
                     {"host": ESCAPING, "wave": None, "packages": []}]}, **extra)


def write(path, data):
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def base(tmp_path):
    """A started run of web1 (wave 0, the canary) and web2 (wave 1); a host outside any wave whose name climbs out."""
    runs = tmp_path / "state" / "runs"
    act("run_start", runs, scope=SCOPE, plan_file=write(tmp_path / "plan.json", make_plan()))
    return runs


# -- run_host_final ---------------------------------------------------------

def test_the_final_state_is_kept_in_the_hosts_archive(base):
    observed = act("run_host_final", base, installed=RECORDS)
    assert observed["as_planned"]
    assert observed["installed"] == {"openssl": "3.0.15-1~deb12u1", "libc6": "2.36-9+deb12u9"}
    final = base / RUN_ID / "archive" / "web1" / "final.json"
    assert json.loads(final.read_text())["installed"] == observed["installed"]
    assert act("run_host_final", base, packages=RECORDS)["as_planned"]


def test_a_read_back_that_is_not_package_records_is_refused(base):
    with pytest.raises(AnsibleActionFail, match="observe: installed package records must be mappings with name and version"):
        act("run_host_final", base, installed=["openssl"])
    with pytest.raises(AnsibleActionFail, match="expected a list of package records"):
        act("run_host_final", base, installed={"openssl": "1"})
    with pytest.raises(AnsibleActionFail, match="expected a list of package records"):  # dpkg-query text
        act("run_host_final", base, installed=DPKG_QUERY)


def test_a_host_name_that_leads_out_of_the_run_directory_is_refused(base, tmp_path):
    with pytest.raises(AnsibleActionFail, match="cannot name a host file"):
        act("run_host_final", base, host=ESCAPING, installed=RECORDS)
    written = [os.path.join(folder, name) for folder, _dirs, names in os.walk(tmp_path) for name in names]
    assert not [path for path in written if "escaped" in path]
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "state" / "escaped").exists()


def test_a_run_id_with_white_space_is_refused(tmp_path):
    with pytest.raises(AnsibleActionFail, match="cannot name a run directory"):
        act("run_finish", tmp_path, run_id="run 1")


# -- a whole run: records, waves, finish ---------------------------------------

def test_a_run_through_its_waves(base):
    gate = act("run_wave_gate", base, wave=0, active_hosts=["web1", "web2"])
    assert gate["go"] and gate["hosts"] == ["web1"] and gate["wait_seconds"] == 0 and not gate["went_unreachable"]
    for phase in ("preflight", "staged", "snapshotted", "patched", "verified", "done"):
        assert act("run_host_record", base, phase=phase)["phase"] == phase
    act("run_host_final", base, installed=RECORDS)
    end = act("run_wave_end", base, wave=0, active_hosts=["web1", "web2"])
    assert end["outcome"] == "wave 0: web1 done" and not end["halted"]
    # web2 went unreachable before its wave: noted, and the budget (0) is spent
    gate = act("run_wave_gate", base, wave=1, active_hosts=["web1"])
    assert gate["went_unreachable"] == ["web2"] and not gate["go"]
    assert gate["reason"].startswith("the run is halted: the failure budget is spent")
    finished = act("run_finish", base)
    assert finished["state"] == "failed" and finished["final"]["web1"]["as_planned"]
    assert json.loads((base / RUN_ID / "summary.json").read_text())["final"]["web1"]["host"] == "web1"


def test_a_wave_with_no_host_to_do_does_not_start(base):
    act("run_host_record", base, host="web2", phase="failed")
    gate = act("run_wave_gate", base, wave=1, active_hosts=["web1", "web2"], halt_on_budget=False)
    assert not gate["go"] and gate["hosts"] == [] and "no host still to do" in gate["reason"]


def test_a_run_with_hosts_to_do_stays_open(base):
    assert act("run_finish", base)["state"] == "running"


def test_the_wave_end_names_the_hosts_that_went_unreachable(base):
    end = act("run_wave_end", base, wave=0, active_hosts=["web2"])
    assert end["went_unreachable"] == ["web1"]
    assert end["outcome"].startswith("wave 0: web1 pending; unreachable: web1; HALTED: the canary failed")


# -- run_open -----------------------------------------------------------------

def test_a_new_run_makes_its_plan(tmp_path):
    opened = act("run_open", tmp_path, run_id=None, scope=SCOPE, policy=POLICY)
    assert opened["make_plan"] and not opened["resume"] and opened["run_id"] == opened["new_id"]
    assert opened["run_id"].startswith("20261127T210000Z-") and opened["plan_file"] == ""


def test_an_interrupted_run_is_continued_under_the_same_policy(base):
    opened = act("run_open", base, run_id=None, scope=SCOPE, policy=POLICY)
    assert opened["resume"] and opened["run_id"] == RUN_ID and not opened["make_plan"]
    assert not act("run_open", base, run_id=None, scope=SCOPE, policy=POLICY,
                   continue_interrupted=False)["resume"]  # check mode


def test_an_interrupted_run_under_a_changed_policy_is_refused_or_replanned(base, tmp_path):
    changed = dict(POLICY, reboot="never")
    with pytest.raises(AnsibleActionFail) as refused:
        act("run_open", base, run_id=None, scope=SCOPE, policy=changed)
    assert policy_digest(POLICY) in str(refused.value) and policy_digest(changed) in str(refused.value)
    opened = act("run_open", base, run_id=None, scope=SCOPE, policy=changed, replan=True)
    assert opened["resume"] and opened["replan"] and opened["make_plan"] and opened["run_id"] == RUN_ID
    # the fresh plan replans the pending hosts; web1 is done and keeps its plan
    for phase in ("preflight", "staged", "snapshotted", "patched", "verified", "done"):
        act("run_host_record", base, phase=phase)
    fresh = make_plan(run_id=opened["new_id"], policy=changed)
    fresh["hosts"][1]["packages"][0]["version"] = "3.0.16-1"
    started = act("run_start", base, resume=True, fresh_plan_file=write(tmp_path / "fresh.json", fresh))
    assert started["replanned"] and started["plan"]["policy_digest"] == policy_digest(changed)
    assert started["pending_waves"] == {"0": [], "2": ["web2"]}
    assert json.loads((base / RUN_ID / "run.json").read_text())["policy_digest"] == policy_digest(changed)
    assert act("run_open", base, run_id=None, scope=SCOPE, policy=changed)["resume"]  # same policy now


def test_a_reviewed_plan_is_checked_against_the_policy_and_its_age(tmp_path):
    reviewed = write(tmp_path / "reviewed.json", make_plan(run_id="r0"))
    runs = tmp_path / "runs"
    opened = act("run_open", runs, run_id=None, scope=SCOPE, policy=POLICY, plan_file=reviewed)
    assert opened["plan_file"] == reviewed and not opened["make_plan"]
    changed = dict(POLICY, reboot="never")
    with pytest.raises(AnsibleActionFail, match=f"planned with policy {policy_digest(POLICY)}, the policy now is"
                                                f" {policy_digest(changed)}"):
        act("run_open", runs, run_id=None, scope=SCOPE, policy=changed, plan_file=reviewed)
    replaced = act("run_open", runs, run_id=None, scope=SCOPE, policy=changed, plan_file=reviewed, replan=True)
    assert replaced["make_plan"] and replaced["replan"] and replaced["plan_file"] == ""
    old = (datetime.fromisoformat(NOW) - timedelta(hours=73)).isoformat()
    stale = write(tmp_path / "stale.json", make_plan(run_id="r0", created=old))
    with pytest.raises(AnsibleActionFail, match=r"was made 73 hours ago .* plan.max_age_hours \(72\)"):
        act("run_open", runs, run_id=None, scope=SCOPE, policy=POLICY, plan_file=stale)
    longer = dict(POLICY, plan={"max_age_hours": 100})
    kept = write(tmp_path / "stale2.json", make_plan(run_id="r0", created=old, policy=longer))
    assert act("run_open", runs, run_id=None, scope=SCOPE, policy=longer, plan_file=kept)["plan_file"] == kept


def test_a_reviewed_plan_keeps_its_versions_and_gets_the_runs_id(tmp_path):
    reviewed = write(tmp_path / "reviewed.json", make_plan(run_id="r0"))
    started = act("run_start", tmp_path / "runs", scope=SCOPE, plan_file=reviewed)
    assert started["plan"]["run_id"] == RUN_ID and started["plan"]["planned_as"] == "r0"


def test_now_without_an_offset_is_utc(base):
    assert datetime.fromisoformat(act("run_host_final", base, installed=[], now="2026-11-27T21:00:00")["at"]) \
        == datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc)


def test_a_half_configured_package_is_not_installed_as_planned(base):
    records = [dict(RECORDS[0], status="half-configured", abbrev="iF", present=True, clean=False), RECORDS[1]]
    observed = act("run_host_final", base, packages=records)
    assert observed["installed"] == {"libc6": "2.36-9+deb12u9"} and observed["as_planned"] is False, observed
    records[0].update(status="installed", abbrev="ii", clean=True)
    assert act("run_host_final", base, packages=records)["as_planned"] is True


def test_the_summary_keeps_a_rollbacks_two_facts(base):
    act("run_host_record", base, phase="patched")
    act("run_host_record", base, phase="failed", detail={"step": "verify"})
    act("run_host_record", base, phase="rolled_back", detail={"versions_restored": True, "healthy": False})
    act("run_host_record", base, host="web2", phase="failed")
    finished = act("run_finish", base)
    assert finished["rollbacks"] == {"web1": {"versions_restored": True, "healthy": False}}
    summary = json.loads((base / RUN_ID / "summary.json").read_text())
    assert summary["phases"] == {"web1": "rolled_back", "web2": "failed"}
    assert summary["rollbacks"] == {"web1": {"versions_restored": True, "healthy": False}}
