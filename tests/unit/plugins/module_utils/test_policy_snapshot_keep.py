"""snapshot.keep: the retention rule in the policy, checked, in its normal form, and carried by the plan."""

from __future__ import annotations

from datetime import date

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.planner import build_plan, host_settings, run_settings
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy import PolicyError, validate_policy

from .test_planner import NOW, by_host, host, make_policy, up

TODAY = date(2026, 12, 6)


def keep_of(keep):
    return validate_policy({"version": 2, "reboot": "never", "snapshot": {"keep": keep}}, today=TODAY)["snapshot"]["keep"]


@pytest.mark.parametrize(("keep", "normal"), [
    (None, {"runs": 3, "days": None}),
    ({"runs": 1}, {"runs": 1, "days": None}),
    ({"days": 7}, {"runs": None, "days": 7}),
    ({"runs": None, "days": 14}, {"runs": None, "days": 14}),
    ({"runs": 2, "days": 30}, {"runs": 2, "days": 30}),
])
def test_keep_in_its_normal_form(keep, normal):
    assert keep_of(keep) == normal


def test_the_default_keeps_three_runs():
    assert validate_policy({"version": 2, "reboot": "never"}, today=TODAY)["snapshot"]["keep"] == \
        {"runs": 3, "days": None}


@pytest.mark.parametrize(("keep", "message"), [
    ({}, "snapshot.keep: set runs, days or both (a snapshot is kept while either holds)"),
    ({"runs": 0}, "snapshot.keep.runs: expected a whole number of runs from 1 to 1000, got 0"),
    ({"days": 4000}, "snapshot.keep.days: expected a whole number of days from 1 to 3650, got 4000"),
    ({"runs": 2.5}, "snapshot.keep.runs: expected a whole number of runs from 1 to 1000, got 2.5"),
    ({"weeks": 2}, "snapshot.keep.weeks: unknown key (known keys: runs, days)"),
    ("3", "snapshot.keep: expected a mapping with runs and/or days, got a string"),
])
def test_a_bad_keep_is_one_clear_message(keep, message):
    with pytest.raises(PolicyError) as caught:
        keep_of(keep)
    assert any(error.startswith(message) for error in caught.value.errors), caught.value.errors


def test_the_plan_carries_the_keep_rule_per_host_and_for_the_run():
    policy = make_policy(windows={"maintenance": []}, rollout={"canary": None, "anti_affinity": []},
                         snapshot={"default": "package", "groups": {}, "keep": {"runs": 1, "days": None}})
    plan = build_plan(policy, {"h1": host(updates=[up("libssl3")])}, {}, NOW, run_id="r1")
    assert by_host(plan)["h1"]["settings"]["snapshot_keep"] == {"runs": 1, "days": None}
    assert plan["settings"]["snapshot_keep"] == {"runs": 1, "days": None}


def test_a_policy_without_keep_plans_the_default():
    policy = make_policy()
    policy["snapshot"] = {"default": "package", "groups": {}}
    assert host_settings(policy)["snapshot_keep"] == run_settings(policy)["snapshot_keep"] == {"runs": 3, "days": None}
