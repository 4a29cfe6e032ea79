"""The plan (format 2) carries what the run needs: per host the package manager and the
run-time slice of the policy, for the run its notifications and wave hooks; any number of waves."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.planner import (
    build_plan,
    host_settings,
    policy_digest,
    run_settings,
)

from .test_planner import NOW, by_host, host, make_policy, up

HOOK = {"name": "drain", "type": "url", "url": "https://lb.example.org/drain"}
WAVE_HOOK = {"name": "page", "type": "url", "url": "https://status.example.org/maintenance"}
EMAIL = {"type": "email", "target": "ops@example.org"}


def small_fleet(count: int) -> dict:
    return {f"h{n:02d}": host(updates=[up("libssl3")]) for n in range(count)}


def no_windows(**changes):
    return make_policy(windows={"maintenance": []}, **changes)


def test_fifteen_waves_of_one_host_each():
    policy = no_windows(rollout={"canary": {"hosts": ["h00"]}, "waves": [{"count": 1}] * 14,
                                 "anti_affinity": []})
    plan = build_plan(policy, small_fleet(15), {}, NOW, run_id="r15")
    assert [w["wave"] for w in plan["waves"]] == list(range(15))
    assert [len(w["hosts"]) for w in plan["waves"]] == [1] * 15
    assert sorted(e["wave"] for e in plan["hosts"]) == list(range(15))
    assert plan["summary"]["waves"] == 15


def test_every_host_entry_carries_its_run_time_settings():
    policy = no_windows(rollout={"canary": {"hosts": ["h00"]}, "waves": [{"rest": True}], "anti_affinity": [],
                                 "soak_minutes": 45},
                        health_checks={"services": ["nginx.service"], "ports": [443]},
                        hooks={"pre_host": [HOOK], "post_host": [HOOK], "pre_wave": [WAVE_HOOK], "post_wave": []},
                        notifications=[EMAIL], reboot="never", restart_services=True)
    plan = build_plan(policy, small_fleet(3), {}, NOW, run_id="r1")
    entries = by_host(plan)
    canary, other = entries["h00"]["settings"], entries["h01"]["settings"]
    assert canary == {"health_checks": policy["health_checks"], "hooks": {"pre_host": [HOOK], "post_host": [HOOK]},
                      "reboot": "never", "restart_services": "restart", "soak_minutes": 45,
                      "automatic_updaters": "report", "snapshot_keep": {"runs": 3, "days": None}}
    assert other == dict(canary, soak_minutes=0)
    assert plan["settings"] == {"notifications": [EMAIL], "hooks": {"pre_wave": [WAVE_HOOK], "post_wave": []},
                                "snapshot_keep": {"runs": 3, "days": None}}
    assert {e["package_manager"] for e in plan["hosts"]} == {"apt"}
    assert plan["format"] == 2


def test_the_package_manager_is_the_scans_backend_else_the_assets():
    dnf = dict(up("openssl"), backend="dnf")
    scan = {"r1": host(updates=[dnf], package_manager="apt"), "d1": host(updates=[up("openssl")]),
            "n1": host(updates=[], package_manager="zypper"), "x1": host(updates=[])}
    entries = by_host(build_plan(no_windows(rollout={"canary": None, "anti_affinity": []}), scan, {}, NOW))
    assert entries["r1"]["package_manager"] == "dnf"  # what the scan used wins over the asset's guess
    assert entries["d1"]["package_manager"] == "apt"
    assert entries["n1"]["package_manager"] == "zypper" and entries["x1"]["package_manager"] is None


@pytest.mark.parametrize(("policy_value", "mode"), [(True, "restart"), ("flag", "flag"), (False, "none")])
def test_restart_services_false_is_neither_restart_nor_flag(policy_value, mode):
    assert host_settings(make_policy(restart_services=policy_value))["restart_services"] == mode


def test_policy_keys_other_parts_add_are_read_with_their_defaults():
    assert host_settings(make_policy())["automatic_updaters"] == "report"
    assert host_settings(make_policy(automatic_updaters="pause"))["automatic_updaters"] == "pause"
    assert run_settings(make_policy()) == {"notifications": [], "hooks": {"pre_wave": [], "post_wave": []},
                                           "snapshot_keep": {"runs": 3, "days": None}}


def test_the_digest_leaves_out_what_validation_found():
    assert policy_digest(make_policy(warnings=["approvals.reject[0]: expired"])) == policy_digest(make_policy())
    assert policy_digest(make_policy(reboot="never")) != policy_digest(make_policy())
