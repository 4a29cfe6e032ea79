"""Scan results on the controller: what scan.yml registered, and what the plan is made from."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_mod
from ansible_collections.patchpilot.fleet.plugins.module_utils.planner import build_plan
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_index, make_update
from ansible_collections.patchpilot.fleet.plugins.plugin_utils import scan_results

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc)
ASSET = {"asset": {"hostname": "h", "os_family": "Debian", "os_distribution": "Debian", "os_version": "12"}}
UPDATE = make_update(name="libssl3", installed_version="3.0.1-1", candidate_version="3.0.2-1", arch="amd64",
                     classification="security", backend="apt").as_dict()
STALE = make_index(refreshed=True, age_seconds=7200, errors=[
    {"source": "http://mirror.example.org/debian stable",
     "message": "Could not connect to mirror.example.org:80 (192.0.2.10). - connect (111: Connection refused)"}])
FRESH = make_index(refreshed=True, age_seconds=60)


def hostvars():
    return {
        "stale": {"scan_asset": ASSET, "scan_updates": {"updates": [UPDATE], "index": STALE}},
        "fresh": {"scan_asset": ASSET, "scan_updates": {"updates": [UPDATE], "index": FRESH}},
        "old": {"scan_asset": ASSET, "scan_updates": {"updates": [UPDATE]}},  # a module without the index key
        "locked": {"scan_asset": ASSET, "scan_error": "apt-get update failed (exit 100): Could not get lock"},
        "gone": {},
    }


def test_collect_carries_the_index():
    results = scan_results.collect(hostvars(), ["stale", "fresh", "old", "locked", "gone"])
    assert results["stale"]["index"] == STALE and results["fresh"]["index"] == FRESH
    assert results["old"]["index"] is None and results["locked"]["index"] is None
    assert results["locked"]["updates"] is None and "lock" in results["locked"]["error"]


@pytest.mark.parametrize("choice", ["report", "fail"])
def test_plan_scan_fails_a_stale_host_only_when_the_policy_says_so(choice):
    results = scan_results.collect(hostvars(), ["stale", "fresh", "old", "locked", "gone"])
    scan = scan_results.plan_scan(results, choice)
    for host in ("fresh", "old"):
        assert scan[host] == {"asset": ASSET["asset"], "updates": [UPDATE], "reason": None}
    assert scan["locked"]["updates"] is None and "Could not get lock" in scan["locked"]["reason"]
    assert scan["gone"]["reason"] == "not scanned (unreachable)"
    if choice == "report":
        assert scan["stale"] == {"asset": ASSET["asset"], "updates": [UPDATE], "reason": None}
    else:
        assert scan["stale"]["updates"] is None
        assert "http://mirror.example.org/debian stable: Could not connect" in scan["stale"]["reason"]
        assert "2 hours old" in scan["stale"]["reason"] and "scan.stale_index: fail" in scan["stale"]["reason"]


@pytest.mark.parametrize("choice, status", [("report", "rollout"), ("fail", "unscannable")])
def test_the_plan_follows_the_policy_for_a_stale_host(choice, status):
    policy = policy_mod.validate_policy({"version": 2, "reboot": "never", "scan": {"stale_index": choice},
                                         "approvals": {"approve": [{"package": "libssl3"}]}},
                                        today="2026-11-27")
    scan = scan_results.plan_scan(scan_results.collect(hostvars(), ["stale", "fresh"]), policy["scan"]["stale_index"])
    plan = build_plan(policy, scan, {}, NOW, run_id="20261127T200000Z-test")
    hosts = {h["host"]: h for h in plan["hosts"]}
    assert hosts["fresh"]["status"] == "rollout"
    assert hosts["stale"]["status"] == status
    if status == "unscannable":
        assert "could not be refreshed" in hosts["stale"]["reason"] and not hosts["stale"]["packages"]


def test_now_arg_reads_an_offset_assumes_utc_without_one_and_refuses_nonsense():
    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel

    assert scan_results.now_arg("2026-11-27T21:00:00+01:00") == NOW
    assert scan_results.now_arg("2026-11-27T20:00:00") == NOW
    assert scan_results.now_arg(None).tzinfo is not None
    with pytest.raises(AnsibleActionFail, match="^now: "):
        scan_results.now_arg("next tuesday")
