"""run_host_fact: the local fact of a host from the run record, its plan entry and its asset facts."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from .test_run_actions import RUN_ID, SCOPE, act, make_plan, write


@pytest.fixture
def base(tmp_path):
    """A started run of web1 (wave 0) and web2 (wave 1), as test_run_actions starts it."""
    runs = tmp_path / "state" / "runs"
    act("run_start", runs, scope=SCOPE, plan_file=write(tmp_path / "plan.json", make_plan()))
    return runs


ASSET = {"machine_id": "d4d172059f264b615be86628ba82801e", "os_pretty_name": "Debian GNU/Linux 12 (bookworm)",
         "os_version": "12", "kernel": "6.1.0-27-amd64", "installed_packages": 180, "packages_digest": "sha256:" + "ab" * 32}


def test_a_rolled_back_host_gets_its_fact(base):
    act("run_host_record", base, phase="failed", detail={"message": "verify failed"}, now="2026-11-27T21:03:00+00:00")
    act("run_host_record", base, phase="rolled_back", now="2026-11-27T21:05:00+00:00")
    got = act("run_host_fact", base, asset=ASSET)
    assert got["changed"] is False and got["path"] == "/etc/ansible/facts.d/patchpilot.fact" and got["mode"] == "0644"
    fact = got["fact"]
    assert (fact["run_id"], fact["host"], fact["result"]) == (RUN_ID, "web1", "rolled_back")
    assert fact["at"] == "2026-11-27T21:05:00+00:00" and fact["planned_packages"] == 1
    assert fact["machine_id"] == ASSET["machine_id"] and fact["revision"]["packages"] == 180


def test_a_host_not_finished_gets_no_fact(base):
    assert act("run_host_fact", base, asset=ASSET)["fact"] is None  # still pending
    act("run_host_record", base, host="web2", phase="done")
    assert act("run_host_fact", base, host="web2")["fact"]["result"] == "done"


@pytest.mark.parametrize(("args", "message"), [
    ({"asset": "web1"}, "asset: expected the asset record of patchpilot.fleet.asset_facts, got str"),
    ({"host": "ghost", "asset": ASSET}, f"ghost is not in the plan of run {RUN_ID}"),
])
def test_bad_input_is_one_clear_error(base, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        act("run_host_fact", base, **args)
