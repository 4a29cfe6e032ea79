"""The planner: approvals, refusals, waves, anti-affinity, windows, budget, plan errors, determinism."""

import copy
import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_mod
from ansible_collections.patchpilot.fleet.plugins.module_utils.planner import (
    FORMAT,
    PlanError,
    build_plan,
    policy_digest,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.priority import validate_policy as priority_policy
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc
# Friday 27 November 2026, 21:00 in Berlin.
NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def update_sections(base: dict, changes: dict) -> dict:
    """Each change replaces one key of a section (or a top-level key)."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key].update(value)
        else:
            base[key] = value
    return base


def make_policy(**changes) -> dict:
    """A policy as policy.validate_policy returns it (every key, defaults filled)."""
    policy = {
        "version": 2, "change_ticket": "CHG-4711", "approvers": ["ops"],
        "approvals": {
            "auto": {"classifications": ["security"], "severities": ["critical", "high"], "after_days": 2},
            "approve": [{"package": "pp-agent", "note": None}],
            "reject": [
                {"package": "pp-tool", "reason": "breaks the billing export", "expires": "2026-12-15",
                 "expired": False},
                {"cve": "CVE-2026-1111", "reason": "the first fix was broken", "expires": "2026-11-01",
                 "expired": True},
            ],
            "allow_removals": False, "new_dependencies": "approved",
        },
        "windows": {"timezone": "Europe/Berlin",
                    "maintenance": [{"name": "nightly", "days": ALL_DAYS, "start": "22:00", "end": "01:00"}],
                    "freezes": []},
        "emergency": {"cves": [], "packages": [], "bypass_windows": False, "bypass_freezes": False},
        "rollout": {"canary": {"group": "canary"}, "soak_minutes": 60,
                    "waves": [{"percent": 50}, {"rest": True}], "max_per_wave_per_group": 1,
                    "anti_affinity": [["web1", "web2"]], "minutes_per_host": 30, "parallel": 1},
        "budget": {"max_failed": {"percent": 25}, "count_unreachable": True},
        "reboot": "if_required", "restart_services": "flag",
        "snapshot": {"default": "package", "groups": {"db": "lvm"}},
        "health_checks": {"services": [], "ports": [], "failed_units": True, "journal_errors_max": None,
                          "load_factor": None},
        "hooks": {"pre_host": [], "post_host": [], "pre_wave": [], "post_wave": []},
        "notifications": [],
        "priority": priority_policy({}),
        "notes": [], "warnings": [],
    }
    return update_sections(policy, copy.deepcopy(changes))


def up(name, classification="security", severity=None, effect="upgrade", released="2026-11-20",
       installed="1.0-1", candidate="1.1-1", cves=(), reboot=None, arch="amd64"):
    if effect == "removal":
        candidate = None
    if effect == "new_dependency":
        installed = None
    return make_update(name=name, installed_version=installed, candidate_version=candidate, arch=arch,
                       classification=classification, severity=severity, cves=cves, reboot=reboot,
                       first_seen="2026-11-21", released=released, effect=effect, backend="apt").as_dict()


def host(criticality="medium", updates=(), **asset):
    return {"asset": dict(asset, criticality=criticality, os_distribution="Debian", os_version="12"),
            "updates": list(updates)}


def fleet() -> dict:
    """Nine hosts: every kind of update and host the planner tells apart."""
    return {
        "app1": host(updates=[up("libssl3"), up("pp-tool")]),
        "app2": host(updates=[up("libssl3"), up("tzdata", "bugfix")], reboot_pending=True),
        "web1": host("low", [up("libcurl4", cves=["CVE-2026-1111"], released="2026-11-24"),
                             up("pp-agent", "third_party")]),
        "web2": host("low", [up("libssl3"), up("openssh-server", released="2026-11-26"),
                             up("pp-blocked", effect="kept_back")]),
        "db1": host("high", [up("libssl3"), up("pp-legacy", effect="removal", installed="0.9-1")]),
        "db2": host("high", [up("linux-image-amd64", candidate="6.1.129-1", installed="6.1.128-1", reboot=True),
                             up("linux-image-6.1.0-29-amd64", effect="new_dependency", candidate="6.1.129-1",
                                reboot=True)]),
        "cache1": host(updates=[up("libssl3"), up("libpp-extra1", "third_party", effect="new_dependency")]),
        "mon1": {"asset": {}, "updates": None, "reason": "unreachable: ssh timed out"},
        "bastion1": host(updates=[up("tzdata", "bugfix"), up("less", severity="low")]),
    }


GROUPS = {
    "canary": ["app1"], "app": ["app1", "app2"], "web": ["web1", "web2"], "db": ["db1", "db2"],
    "cache": ["cache1"], "mon": ["mon1"], "bastion": ["bastion1"],
}


def plan_for(policy=None, scan=None, groups=None, now=NOW, run_id="20261127T200000Z-abc123"):
    return build_plan(policy or make_policy(), fleet() if scan is None else scan,
                      GROUPS if groups is None else groups, now, run_id=run_id)


def by_host(plan) -> dict:
    return {entry["host"]: entry for entry in plan["hosts"]}


def waves(plan) -> list:
    return [(w["wave"], w["hosts"]) for w in plan["waves"]]


def problems(excinfo) -> list:
    return excinfo.value.problems


# ---------------------------------------------------------------------------
# The fixture fleet, exactly
# ---------------------------------------------------------------------------

def canonical_digest(policy: dict) -> str:
    """The plan's policy digest as the plan format defines it, computed here: sha256 of the
    policy as JSON with sorted keys and no spaces, UTF-8, without what validation found
    (warnings, notes)."""
    policy = {k: v for k, v in policy.items() if k not in ("warnings", "notes")}
    text = json.dumps(policy, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_fleet_plan_is_exactly_the_recorded_one():
    expected = json.loads((FIXTURES / "planner" / "fleet_plan.json").read_text(encoding="utf-8"))
    plan = plan_for()
    expected["policy_digest"] = canonical_digest(make_policy())  # the priority defaults may grow
    assert json.loads(json.dumps(plan)) == expected


def test_fleet_waves_canary_then_two_waves_with_the_pair_split():
    plan = plan_for()
    # Rollout order: web1, web2 (low), app1, app2 (medium), db2 (high). Wave 1 takes 2 of
    # the 4 hosts after the canary: web1, then not web2 (anti-affinity with web1), app2.
    assert waves(plan) == [(0, ["app1"]), (1, ["app2", "web1"]), (2, ["db2", "web2"])]
    assert [w["canary"] for w in plan["waves"]] == [True, False, False]
    assert not any(w["added"] for w in plan["waves"])


def test_fleet_window_too_short_moves_the_wave_to_the_next_night():
    plan = plan_for()
    canary, first, second = plan["waves"]
    # canary 30 minutes + 60 soak, wave 1 two hosts one at a time: 60 minutes.
    assert (canary["start"], canary["end"]) == ("2026-11-27T22:00:00+01:00", "2026-11-27T23:30:00+01:00")
    assert (first["start"], first["end"]) == ("2026-11-27T23:30:00+01:00", "2026-11-28T00:30:00+01:00")
    assert first["deferred"] == [] and canary["deferred"] == []
    # Wave 2 needs 60 minutes; 30 are left in Friday's window: the whole wave waits for Saturday.
    assert (second["start"], second["end"]) == ("2026-11-28T22:00:00+01:00", "2026-11-28T23:00:00+01:00")
    assert second["deferred"] == [{
        "window": "nightly", "start": "2026-11-27T22:00:00+01:00", "end": "2026-11-28T01:00:00+01:00",
        "reason": "needs 60 minutes, 30 left in the window", "hosts": ["db2", "web2"],
    }]
    assert by_host(plan)["web2"]["window"] == {"name": "nightly", "start": "2026-11-28T22:00:00+01:00",
                                               "end": "2026-11-28T23:00:00+01:00"}


def test_fleet_host_outcomes():
    hosts = by_host(plan_for())
    assert {h: e["status"] for h, e in hosts.items()} == {
        "app1": "rollout", "app2": "rollout", "bastion1": "nothing_to_do", "cache1": "refused",
        "db1": "refused", "db2": "rollout", "mon1": "unscannable", "web1": "rollout", "web2": "rollout",
    }
    assert hosts["mon1"]["reason"] == "unreachable: ssh timed out"
    assert hosts["mon1"]["wave"] is None and hosts["bastion1"]["wave"] is None


def test_rejected_package_is_excluded_until_the_rejection_expires():
    app1 = by_host(plan_for())["app1"]
    assert [p["name"] for p in app1["packages"]] == ["libssl3"]
    assert app1["excluded"] == [{
        "name": "pp-tool", "arch": "amd64", "version": "1.1-1", "effect": "upgrade", "until": "2026-12-15",
        "reason": "rejected (package pp-tool): breaks the billing export, until 2026-12-15",
    }]
    # In force through its last day (in the policy's time zone), gone the day after.
    last_day = datetime(2026, 12, 15, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert by_host(plan_for(now=last_day))["app1"]["excluded"][0]["until"] == "2026-12-15"
    next_day = datetime(2026, 12, 15, 23, 30, tzinfo=UTC)  # 00:30 on the 16th in Berlin
    app1 = by_host(plan_for(now=next_day))["app1"]
    assert [p["name"] for p in app1["packages"]] == ["libssl3", "pp-tool"]


def test_expired_rejection_no_longer_applies():
    web1 = by_host(plan_for())["web1"]
    assert {p["name"]: p["approved_by"] for p in web1["packages"]} == {
        "libcurl4": "auto (security, high, released 3 days ago)", "pp-agent": "approved (package pp-agent)"}


def test_not_auto_approved_reasons():
    hosts = by_host(plan_for())
    assert {(e["name"], e["reason"]) for e in hosts["bastion1"]["excluded"]} == {
        ("less", "not auto-approved: severity low is not in approvals.auto.severities"),
        ("tzdata", "not auto-approved: classification bugfix is not in approvals.auto.classifications"),
    }
    assert {(e["name"], e["reason"]) for e in hosts["web2"]["excluded"]} == {
        ("openssh-server", "not auto-approved: released 1 day ago, approvals.auto.after_days is 2 (eligible on 2026-11-28)"),
        ("pp-blocked", "kept back by the package manager (held, or blocked by dependencies)"),
    }


def test_update_without_a_date_is_not_old_enough():
    record = dict(up("libssl3"), released=None, first_seen=None)
    entry = by_host(plan_for(scan={"h1": host(updates=[record])}, groups={}, policy=make_policy(
        rollout={"canary": None, "anti_affinity": []})))["h1"]
    assert entry["status"] == "nothing_to_do"
    assert entry["excluded"][0]["reason"] == \
        "not auto-approved: no release date and no first-seen date, approvals.auto.after_days is 2"


def test_after_days_counts_from_first_seen_when_the_release_date_is_unknown_and_says_so():
    policy = make_policy(rollout={"canary": None, "anti_affinity": []})
    old = dict(up("libssl3"), released=None, first_seen="2026-11-20")
    new = dict(up("libcurl4"), released=None, first_seen="2026-11-26")
    entry = by_host(plan_for(scan={"h1": host(updates=[old, new])}, groups={}, policy=policy))["h1"]
    assert [(p["name"], p["approved_by"]) for p in entry["packages"]] == \
        [("libssl3", "auto (security, high, first seen 7 days ago)")]
    assert entry["excluded"][0]["reason"] == \
        "not auto-approved: first seen 1 day ago, approvals.auto.after_days is 2 (eligible on 2026-11-28)"


def test_removal_refuses_the_whole_transaction():
    db1 = by_host(plan_for())["db1"]
    assert db1["transaction_refused"] is True and db1["status"] == "refused"
    assert db1["refused"] == [{"name": "pp-legacy", "arch": "amd64", "version": "0.9-1", "effect": "removal",
                               "reason": "removal not allowed (approvals.allow_removals is false)"}]
    assert db1["packages"] == [] and db1["wave"] is None
    assert db1["excluded"] == [{
        "name": "libssl3", "arch": "amd64", "version": "1.1-1", "effect": "upgrade",
        "reason": "transaction refused: pp-legacy: removal not allowed (approvals.allow_removals is false)"}]
    assert db1["reason"] == db1["excluded"][0]["reason"]


def test_removal_allowed_by_policy():
    plan = plan_for(policy=make_policy(approvals={"allow_removals": True}))
    db1 = by_host(plan)["db1"]
    assert db1["status"] == "rollout" and db1["refused"] == []
    assert db1["removals"] == [{"name": "pp-legacy", "arch": "amd64", "from_version": "0.9-1"}]
    assert plan["approved_set"]["db1"] == {"libssl3": "1.1-1"}


def test_new_dependencies_approved_refused_or_any():
    hosts = by_host(plan_for())
    # db2: the new kernel comes from the security archive, so the auto rules approve it.
    assert [(p["name"], p["effect"], p["from_version"]) for p in hosts["db2"]["packages"]] == [
        ("linux-image-amd64", "upgrade", "6.1.128-1"), ("linux-image-6.1.0-29-amd64", "new_dependency", None)]
    # cache1: a third-party library the policy does not approve: the transaction is refused.
    assert hosts["cache1"]["refused"] == [{
        "name": "libpp-extra1", "arch": "amd64", "version": "1.1-1", "effect": "new_dependency",
        "reason": "new dependency not approved: not auto-approved: classification third_party"
                  " is not in approvals.auto.classifications"}]
    assert hosts["cache1"]["status"] == "refused"
    anything = by_host(plan_for(policy=make_policy(approvals={"new_dependencies": "any"})))["cache1"]
    assert anything["status"] == "rollout"
    assert anything["packages"][-1]["approved_by"] == "new dependency (approvals.new_dependencies is any)"


def test_rejected_new_dependency_stays_refused_with_any():
    policy = make_policy(approvals={"new_dependencies": "any", "reject": [
        {"package": "libpp-*", "reason": "unvetted vendor", "expires": "2027-01-31", "expired": False}]})
    cache1 = by_host(plan_for(policy=policy))["cache1"]
    assert cache1["status"] == "refused"
    assert cache1["refused"][0]["until"] == "2027-01-31"


def test_reboot_expected_from_hints_pending_reboot_and_policy():
    hosts = by_host(plan_for())
    assert hosts["db2"]["reboot_expected"] is True
    assert hosts["db2"]["reboot_reasons"] == ["linux-image-amd64 asks for a reboot",
                                              "linux-image-6.1.0-29-amd64 asks for a reboot"]
    assert hosts["app2"]["reboot_reasons"] == ["a reboot is already pending on the host"]
    assert hosts["web1"]["reboot_expected"] is False
    never = by_host(plan_for(policy=make_policy(reboot="never")))
    assert not any(e["reboot_expected"] for e in never.values())
    always = by_host(plan_for(policy=make_policy(reboot="always")))
    assert {h for h, e in always.items() if e["reboot_expected"]} == {"app1", "app2", "web1", "web2", "db2"}


def test_snapshot_provider_by_group():
    hosts = by_host(plan_for())
    assert hosts["db2"]["snapshot"] == "lvm" and hosts["web1"]["snapshot"] == "package"


def test_approved_set_and_budget():
    plan = plan_for()
    assert plan["approved_set"] == {
        "app1": {"libssl3": "1.1-1"}, "app2": {"libssl3": "1.1-1"},
        "db2": {"linux-image-6.1.0-29-amd64": "6.1.129-1", "linux-image-amd64": "6.1.129-1"},
        "web1": {"libcurl4": "1.1-1", "pp-agent": "1.1-1"}, "web2": {"libssl3": "1.1-1"},
    }
    # 25% of the 5 hosts in the rollout, rounded down.
    assert plan["budget"] == {"max_failed": 1, "of_hosts": 5, "policy": {"percent": 25}, "count_unreachable": True}


@pytest.mark.parametrize("given, expected", [
    ({"count": 3}, 3), ({"count": 0}, 0), ({"percent": 10}, 0), ({"percent": 40}, 2), ({"percent": 100}, 5),
])
def test_budget_numbers(given, expected):
    plan = plan_for(policy=make_policy(budget={"max_failed": given}))
    assert plan["budget"]["max_failed"] == expected


def test_two_architectures_of_one_package_are_keyed_by_arch():
    scan = {"h1": host(updates=[up("libc6"), up("libc6", arch="i386")])}
    plan = plan_for(scan=scan, groups={}, policy=make_policy(rollout={"canary": None, "anti_affinity": []}))
    assert plan["approved_set"] == {"h1": {"libc6:amd64": "1.1-1", "libc6:i386": "1.1-1"}}


def test_version_drift_between_hosts_of_one_release():
    scan = {"a": host(updates=[up("libssl3", candidate="1.1-1")]),
            "b": host(updates=[up("libssl3", candidate="1.2-1")])}
    plan = plan_for(scan=scan, groups={}, policy=make_policy(rollout={"canary": None, "anti_affinity": []}))
    assert plan["version_drift"] == [{"name": "libssl3", "arch": "amd64", "release": "Debian 12",
                                      "versions": {"1.1-1": ["a"], "1.2-1": ["b"]}}]


# ---------------------------------------------------------------------------
# Emergency
# ---------------------------------------------------------------------------

EMERGENCY_CVE = "CVE-2026-9999"


def emergency_scan():
    scan = fleet()
    # The fix is on pp-tool, which a rejection holds back: the emergency wins.
    scan["app2"]["updates"].append(up("pp-tool", cves=[EMERGENCY_CVE], released="2026-11-27"))
    return scan


def test_emergency_update_is_approved_regardless_and_marks_the_host():
    policy = make_policy(emergency={"cves": [EMERGENCY_CVE]})
    plan = plan_for(policy=policy, scan=emergency_scan())
    app2 = by_host(plan)["app2"]
    assert app2["emergency"] is True and plan["emergency"] is True
    assert app2["emergency_reasons"] == [f"{EMERGENCY_CVE} is on the emergency CVE list"]
    tool = next(p for p in app2["packages"] if p["name"] == "pp-tool")
    assert tool["approved_by"] == f"emergency: {EMERGENCY_CVE} is on the emergency CVE list"
    # Emergency hosts go first: the canary is still the canary group's app1, app2 leads wave 1.
    assert waves(plan) == [(0, ["app1"]), (1, ["app2", "web1"]), (2, ["db2", "web2"])]
    # Without bypass the emergency still waits for tonight's window.
    assert plan["bypassed"] == [] and plan["waves"][0]["start"] == "2026-11-27T22:00:00+01:00"


def test_every_host_says_what_an_emergency_cve_means_for_it():
    policy = make_policy(emergency={"cves": [EMERGENCY_CVE, "CVE-2026-4242"]})
    scan = emergency_scan()
    scan["web1"]["tracker"] = {"CVE-2026-4242": "resolved"}
    plan = plan_for(policy=policy, scan=scan)
    hosts = by_host(plan)
    app2 = hosts["app2"]["emergency_cves"]
    assert app2[EMERGENCY_CVE]["state"] == "fixed" and app2[EMERGENCY_CVE]["packages"] == ["pp-tool 1.1-1"]
    assert app2["CVE-2026-4242"]["text"] == "not fixed by any available update"
    assert hosts["web1"]["emergency_cves"]["CVE-2026-4242"]["state"] == "not_affected"
    assert "emergency_cves" not in by_host(plan_for(scan=emergency_scan()))["app2"]  # no emergency CVE listed


def test_an_emergency_is_not_held_back_by_what_other_updates_pull_in_or_remove():
    policy = make_policy(emergency={"cves": [EMERGENCY_CVE]}, rollout={"canary": None, "anti_affinity": []})
    scan = {"db1": host(updates=[up("pp-fix", cves=[EMERGENCY_CVE]), up("pp-other", classification="third_party"),
                                 up("pp-old", effect="removal"), up("libpp-new1", classification="third_party",
                                                                    effect="new_dependency")])}
    db1 = by_host(plan_for(policy=policy, scan=scan, groups={}))["db1"]
    assert db1["status"] == "rollout" and db1["refused"] == [] and db1["transaction_refused"] is False
    assert [p["name"] for p in db1["packages"]] == ["pp-fix"]
    assert db1["removals"] == []
    left_out = {e["name"]: e["reason"] for e in db1["excluded"]}
    assert left_out["pp-old"] == "removal not allowed (approvals.allow_removals is false) (left out of the emergency)"
    assert left_out["libpp-new1"].startswith("new dependency not approved: ")
    assert left_out["libpp-new1"].endswith("(left out of the emergency)")
    allowed = make_policy(emergency={"cves": [EMERGENCY_CVE]}, rollout={"canary": None, "anti_affinity": []},
                          approvals={"allow_removals": True})
    db1 = by_host(plan_for(policy=allowed, scan=scan, groups={}))["db1"]
    assert db1["removals"] == [] and [p["name"] for p in db1["packages"]] == ["pp-fix"]
    assert {e["name"]: e["reason"] for e in db1["excluded"]}["pp-old"] == "removal left out of the emergency"
    # without the emergency the same transaction is refused
    plain = by_host(plan_for(policy=make_policy(rollout={"canary": None, "anti_affinity": []}), scan=scan,
                             groups={}))["db1"]
    assert plain["status"] == "refused"


def test_emergency_bypasses_windows_and_freezes_when_the_policy_says_so():
    frozen_today = {"freezes": [{"start": "2026-11-27", "end": "2026-11-29", "reason": "release weekend"}]}
    policy = make_policy(emergency={"cves": [EMERGENCY_CVE], "bypass_windows": True}, windows=frozen_today)
    plan = plan_for(policy=policy, scan=emergency_scan())
    assert plan["bypassed"] == ["windows"]
    # Windows ignored, the freeze not: the waves start when it ends, back to back.
    first = plan["waves"][0]
    assert (first["start"], first["schedule"][0]["window"]) == ("2026-11-30T00:00:00+01:00", None)
    assert first["deferred"] == [{"window": None, "start": "2026-11-27T21:00:00+01:00",
                                  "end": "2026-11-30T00:00:00+01:00", "reason": "frozen: release weekend",
                                  "hosts": ["app1"]}]

    policy = make_policy(emergency={"cves": [EMERGENCY_CVE], "bypass_windows": True, "bypass_freezes": True},
                         windows=frozen_today)
    plan = plan_for(policy=policy, scan=emergency_scan())
    assert plan["bypassed"] == ["windows", "freezes"]
    assert [(w["start"], w["end"]) for w in plan["waves"]] == [
        ("2026-11-27T21:00:00+01:00", "2026-11-27T22:30:00+01:00"),
        ("2026-11-27T22:30:00+01:00", "2026-11-27T23:30:00+01:00"),
        ("2026-11-27T23:30:00+01:00", "2026-11-28T00:30:00+01:00"),
    ]


def test_bypass_applies_only_to_emergency_plans():
    policy = make_policy(emergency={"cves": [EMERGENCY_CVE], "bypass_windows": True, "bypass_freezes": True})
    plan = plan_for(policy=policy)  # nothing in the fleet fixes that CVE
    assert plan["emergency"] is False and plan["bypassed"] == []
    assert plan["waves"][0]["schedule"][0]["window"] == "nightly"


# ---------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------

def test_freeze_skips_a_night():
    # Saturday is frozen, 00:00 to 24:00 in Berlin: Friday's window ends at midnight and
    # Saturday's opens at midnight, for its last hour.
    policy = make_policy(windows={"freezes": [{"start": "2026-11-28", "end": "2026-11-28",
                                               "reason": "black friday sale"}]})
    plan = plan_for(policy=policy)
    canary, first, second = plan["waves"]
    assert (canary["start"], canary["end"]) == ("2026-11-27T22:00:00+01:00", "2026-11-27T23:30:00+01:00")
    assert first["deferred"] == [
        {"window": "nightly", "start": "2026-11-27T22:00:00+01:00", "end": "2026-11-28T00:00:00+01:00",
         "reason": "needs 60 minutes, 30 left in the window", "hosts": ["app2", "web1"]},
        {"window": "nightly", "start": "2026-11-28T22:00:00+01:00", "end": "2026-11-29T00:00:00+01:00",
         "reason": "frozen: black friday sale", "hosts": ["app2", "web1"]},
    ]
    assert (first["start"], first["end"]) == ("2026-11-29T00:00:00+01:00", "2026-11-29T01:00:00+01:00")
    assert (second["start"], second["end"]) == ("2026-11-29T22:00:00+01:00", "2026-11-29T23:00:00+01:00")
    assert second["deferred"] == []


def test_freeze_of_several_days_lists_every_night_it_takes():
    policy = make_policy(windows={"maintenance": [{"name": "evening", "days": ALL_DAYS, "start": "18:00",
                                                   "end": "23:00"}],
                                  "freezes": [{"start": "2026-11-28", "end": "2026-11-29", "reason": "sale"}]},
                         rollout={"canary": {"hosts": ["app1"]}, "soak_minutes": 0})
    plan = plan_for(policy=policy, now=datetime(2026, 11, 27, 22, 0, tzinfo=UTC))  # Friday 23:00: window over
    canary = plan["waves"][0]
    assert [(d["start"], d["reason"]) for d in canary["deferred"]] == [
        ("2026-11-28T18:00:00+01:00", "frozen: sale"), ("2026-11-29T18:00:00+01:00", "frozen: sale")]
    assert canary["start"] == "2026-11-30T18:00:00+01:00"


def dst_plan(now, window_end, minutes):
    policy = make_policy(
        windows={"maintenance": [{"name": "sunday-early", "days": ["sun"], "start": "01:00", "end": window_end}]},
        rollout={"canary": None, "anti_affinity": [], "waves": [{"rest": True}], "minutes_per_host": minutes})
    return plan_for(policy=policy, scan={"h1": host(updates=[up("libssl3", released="2026-10-01")])}, groups={},
                    now=now)


def test_dst_spring_forward_night_is_an_hour_short():
    # 28 March 2027, 01:00-05:00 on the wall clock, but 02:00 CET jumps to 03:00 CEST: 3 real hours.
    plan = dst_plan(datetime(2027, 3, 27, 12, 0, tzinfo=UTC), "05:00", 210)
    (wave,) = plan["waves"]
    assert wave["wave"] == 1 and wave["canary"] is False
    assert wave["deferred"] == [{
        "window": "sunday-early", "start": "2027-03-28T01:00:00+01:00", "end": "2027-03-28T05:00:00+02:00",
        "reason": "needs 210 minutes, 180 left in the window", "hosts": ["h1"]}]
    assert (wave["start"], wave["end"]) == ("2027-04-04T01:00:00+02:00", "2027-04-04T04:30:00+02:00")


def test_dst_fall_back_night_is_an_hour_long():
    # 25 October 2026: 03:00 CEST falls back to 02:00 CET, the 4-hour window lasts 5 hours.
    plan = dst_plan(datetime(2026, 10, 24, 12, 0, tzinfo=UTC), "05:00", 270)
    (wave,) = plan["waves"]
    assert wave["deferred"] == []
    assert (wave["start"], wave["end"]) == ("2026-10-25T01:00:00+02:00", "2026-10-25T04:30:00+01:00")


def test_now_inside_a_window_starts_now():
    plan = plan_for(now=datetime(2026, 11, 27, 21, 15, tzinfo=UTC))  # 22:15 in Berlin
    assert plan["waves"][0]["start"] == "2026-11-27T22:15:00+01:00"


def test_wave_longer_than_any_window_is_split_over_nights():
    policy = make_policy(rollout={"canary": None, "anti_affinity": [], "waves": [{"rest": True}],
                                  "minutes_per_host": 60, "parallel": 2})
    scan = {f"h{i}": host(updates=[up("libssl3")]) for i in range(1, 10)}
    plan = plan_for(policy=policy, scan=scan, groups={})
    (wave,) = plan["waves"]
    # 9 hosts, 2 at a time, an hour each: 5 hours, windows are 3. Friday 21:00: three batches
    # tonight (6 hosts), two tomorrow.
    assert wave["minutes"] == 300
    assert [(s["start"], s["end"], s["hosts"]) for s in wave["schedule"]] == [
        ("2026-11-27T22:00:00+01:00", "2026-11-28T01:00:00+01:00", ["h1", "h2", "h3", "h4", "h5", "h6"]),
        ("2026-11-28T22:00:00+01:00", "2026-11-29T00:00:00+01:00", ["h7", "h8", "h9"]),
    ]
    assert wave["deferred"] == [{
        "window": "nightly", "start": "2026-11-27T22:00:00+01:00", "end": "2026-11-28T01:00:00+01:00",
        "reason": "the wave is longer than any window: these hosts move to the next one",
        "hosts": ["h7", "h8", "h9"]}]
    assert by_host(plan)["h9"]["window"]["start"] == "2026-11-28T22:00:00+01:00"


def test_no_windows_means_any_time():
    policy = make_policy(windows={"maintenance": []})
    plan = plan_for(policy=policy)
    assert plan["waves"][0]["start"] == "2026-11-27T21:00:00+01:00"
    assert plan["waves"][0]["schedule"][0]["window"] is None


# ---------------------------------------------------------------------------
# Waves
# ---------------------------------------------------------------------------

def uniform(n, criticality="medium"):
    return {f"h{i:02d}": host(criticality, [up("libssl3")]) for i in range(1, n + 1)}


def simple_policy(**rollout):
    base = {"canary": None, "anti_affinity": [], "waves": [{"rest": True}], "minutes_per_host": 1, "parallel": 10}
    base.update(rollout)
    return make_policy(rollout=base, windows={"maintenance": []})


@pytest.mark.parametrize("percent, size", [(1, 1), (10, 2), (50, 6), (100, 11)])
def test_canary_percent_rounds_up_and_takes_at_least_one(percent, size):
    plan = plan_for(policy=simple_policy(canary={"percent": percent}), scan=uniform(11), groups={})
    assert plan["waves"][0]["canary"] is True and len(plan["waves"][0]["hosts"]) == size


def test_canary_hosts_and_percent_of_the_rest():
    policy = simple_policy(canary={"hosts": ["h05", "nowhere"]}, waves=[{"percent": 25}, {"count": 3}, {"rest": True}])
    plan = plan_for(policy=policy, scan=uniform(10), groups={})
    # 9 hosts after the canary: 25% rounded up is 3, then 3, then the last 3.
    assert waves(plan) == [(0, ["h05"]), (1, ["h01", "h02", "h03"]), (2, ["h04", "h06", "h07"]),
                           (3, ["h08", "h09", "h10"])]


def test_no_canary_numbers_waves_from_one_and_drops_empty_waves():
    plan = plan_for(policy=simple_policy(waves=[{"count": 2}, {"count": 5}, {"rest": True}]), scan=uniform(3),
                    groups={})
    assert waves(plan) == [(1, ["h01", "h02"]), (2, ["h03"])]


def test_least_critical_hosts_go_first():
    scan = {"crit": host("critical", [up("libssl3")]), "low": host("low", [up("libssl3")]),
            "high": host("high", [up("libssl3")]), "none": host(updates=[up("libssl3")])}
    scan["none"]["asset"].pop("criticality")
    plan = plan_for(policy=simple_policy(waves=[{"count": 1}, {"rest": True}]), scan=scan, groups={})
    assert waves(plan) == [(1, ["low"]), (2, ["crit", "high", "none"])]
    plan = plan_for(policy=simple_policy(canary={"percent": 50}), scan=scan, groups={})
    assert waves(plan)[0] == (0, ["low", "none"])


def test_anti_affinity_adds_a_wave_when_the_configured_ones_cannot_split_a_set():
    policy = simple_policy(canary={"hosts": ["h03"]}, anti_affinity=[["h01", "h02"]])
    plan = plan_for(policy=policy, scan=uniform(3), groups={})
    assert waves(plan) == [(0, ["h03"]), (1, ["h01"]), (2, ["h02"])]
    assert [w["added"] for w in plan["waves"]] == [False, False, True]


def test_anti_affinity_group_at_most_n_per_wave():
    groups = {"cluster": ["h01", "h02", "h03", "h04", "h05"]}
    policy = simple_policy(waves=[{"count": 4}, {"count": 4}, {"rest": True}], max_per_wave_per_group=2,
                           anti_affinity=[{"group": "cluster"}])
    plan = plan_for(policy=policy, scan=uniform(8), groups=groups)
    assert waves(plan) == [(1, ["h01", "h02", "h06", "h07"]), (2, ["h03", "h04", "h08"]), (3, ["h05"])]


def test_anti_affinity_moves_a_canary_host_out_of_the_canary():
    policy = simple_policy(canary={"group": "pair"}, anti_affinity=[["h01", "h02"]])
    plan = plan_for(policy=policy, scan=uniform(3), groups={"pair": ["h01", "h02"]})
    assert waves(plan) == [(0, ["h01"]), (1, ["h02", "h03"])]


def test_nothing_to_do_anywhere_gives_an_empty_plan():
    scan = {"h1": host(updates=[up("tzdata", "bugfix")]), "h2": {"asset": {}, "updates": None}}
    plan = plan_for(scan=scan, groups={}, policy=make_policy(rollout={"canary": None}))
    assert plan["waves"] == [] and plan["approved_set"] == {}
    assert plan["budget"]["max_failed"] == 0
    assert by_host(plan)["h2"]["reason"] == "no scan result (host unreachable)"
    assert plan["summary"]["nothing_to_do"] == 1 and plan["summary"]["unscannable"] == 1


# ---------------------------------------------------------------------------
# Plan errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("rollout, groups, expected", [
    ({"canary": {"hosts": ["ghost1", "ghost2"]}}, GROUPS, "rollout.canary.hosts: matches no host in scope (ghost1, ghost2)"),
    ({"canary": {"group": "nosuch"}}, GROUPS, "rollout.canary.group: no group 'nosuch' in the inventory"),
    ({"canary": {"group": "elsewhere"}}, dict(GROUPS, elsewhere=["far1"]),
     "rollout.canary.group: matches no host in scope (far1)"),
    ({"canary": {"group": "bastion"}}, GROUPS,
     "rollout.canary.group: matches bastion1, but none of them has an approved update: the canary would prove nothing"),
    ({"waves": [{"count": 1}]}, GROUPS,
     "rollout.waves: the waves take 1 of the 4 hosts after the canary; add rest as the last wave or make the waves"
     " larger"),
    ({"waves": [{"rest": True}], "anti_affinity": [["web1", "web2", "app2"]]}, GROUPS,
     "rollout.anti_affinity[0]: 3 hosts at most 1 per wave need 3 waves, but the rollout has 2 (canary included)"),
    ({"waves": [{"rest": True}], "anti_affinity": [{"group": "big"}]},
     dict(GROUPS, big=["web1", "web2", "app2", "db2"]),
     "rollout.anti_affinity[0].group: 4 hosts at most 1 per wave need 4 waves, but the rollout has 2"
     " (canary included)"),
    ({"anti_affinity": [{"group": "nosuch"}]}, GROUPS, "rollout.anti_affinity[0].group: no group 'nosuch' in the inventory"),
    ({"waves": ["half"]}, GROUPS, "rollout.waves[0]: expected {count: N}, {percent: N} or {rest: true}, got 'half'"),
])
def test_plan_errors(rollout, groups, expected):
    with pytest.raises(PlanError) as excinfo:
        plan_for(policy=make_policy(rollout=rollout), groups=groups)
    assert problems(excinfo) == [expected]
    assert expected in str(excinfo.value)


def test_anti_affinity_counts_only_hosts_in_the_rollout():
    # Three listed, but db1 is refused and mon1 unscannable: web1 alone is left, nothing to split.
    plan = plan_for(policy=make_policy(rollout={"waves": [{"rest": True}], "anti_affinity": [["web1", "db1", "mon1"]]}))
    assert plan["summary"]["waves"] == 2


def test_snapshot_conflict_is_a_plan_error():
    policy = make_policy(snapshot={"groups": {"db": "lvm", "vm": "aws_ebs"}})
    with pytest.raises(PlanError) as excinfo:
        plan_for(policy=policy, groups=dict(GROUPS, vm=["db2"]))
    assert problems(excinfo) == ["snapshot.groups: host db2 is in groups with different providers: db (lvm), vm (aws_ebs)"]


def test_no_window_within_a_year_is_a_plan_error():
    policy = make_policy(windows={"freezes": [{"start": "2026-11-01", "end": "2028-06-30", "reason": "migration"}]})
    with pytest.raises(PlanError) as excinfo:
        plan_for(policy=policy)
    assert problems(excinfo) == ["windows: no room for wave 0 (90 minutes) in the next 366 days"]


def test_every_problem_is_listed_at_once():
    policy = make_policy(rollout={"canary": {"group": "nosuch"}, "anti_affinity": [{"group": "gone"}]},
                         snapshot={"groups": {"db": "lvm", "vm": "btrfs"}})
    with pytest.raises(PlanError) as excinfo:
        plan_for(policy=policy, groups=dict(GROUPS, vm=["db1"]))
    assert problems(excinfo) == [
        "snapshot.groups: host db1 is in groups with different providers: db (lvm), vm (btrfs)",
        "rollout.canary.group: no group 'nosuch' in the inventory",
        "rollout.anti_affinity[0].group: no group 'gone' in the inventory",
    ]
    assert str(excinfo.value).splitlines()[0] == "the plan cannot be made:"


@pytest.mark.parametrize("policy, scan, groups, now, expected", [
    (None, {}, {}, NOW, "policy: expected a validated policy (a mapping), got NoneType"),
    ({}, [], {}, NOW, "scan: expected a mapping of host to scan result, got list"),
    ({}, {}, [], NOW, "groups: expected a mapping of group to hosts, got list"),
    ({}, {}, {}, datetime(2026, 11, 27, 20, 0),
     "now: expected a timezone-aware datetime, got datetime.datetime(2026, 11, 27, 20, 0)"),
])
def test_bad_arguments(policy, scan, groups, now, expected):
    with pytest.raises(PlanError) as excinfo:
        build_plan(policy, scan, groups, now)
    assert problems(excinfo) == [expected]


# ---------------------------------------------------------------------------
# Determinism, identity
# ---------------------------------------------------------------------------

def test_same_inputs_same_plan_whatever_their_order():
    first = plan_for()
    scan = dict(reversed(list(fleet().items())))
    for result in scan.values():
        if result["updates"]:
            result["updates"].reverse()
    groups = {group: list(reversed(members)) for group, members in reversed(list(GROUPS.items()))}
    assert plan_for(scan=scan, groups=groups) == first
    assert json.dumps(first, sort_keys=True) == json.dumps(plan_for(), sort_keys=True)


def test_run_id_and_identity_fields():
    plan = build_plan(make_policy(), fleet(), GROUPS, NOW)
    assert re.fullmatch(r"20261127T200000Z-[0-9a-f]{6}", plan["run_id"])
    assert plan["format"] == FORMAT == 2
    assert plan["created"] == "2026-11-27T20:00:00+00:00"
    assert plan["change_ticket"] == "CHG-4711"
    assert plan["policy_digest"] == canonical_digest(make_policy())
    other = make_policy(rollout={"parallel": 2})
    assert policy_digest(other) != plan["policy_digest"]
    assert policy_digest(dict(reversed(list(make_policy().items())))) == plan["policy_digest"]


def test_plan_from_a_policy_as_policy_py_validates_it():
    written = {
        "version": 2, "change_ticket": "CHG-4711", "reboot": "if_required",
        "approvals": {"auto": {"classifications": ["security"], "severities": ["critical", "high"], "after_days": 2},
                      "approve": [{"package": "pp-agent"}],
                      "reject": [{"package": "pp-tool", "reason": "breaks the billing export", "expires": "2026-12-15"},
                                 {"cve": "CVE-2026-1111", "reason": "the first fix was broken",
                                  "expires": "2026-11-01"}]},
        "windows": {"timezone": "Europe/Berlin",
                    "maintenance": [{"name": "nightly", "days": ALL_DAYS, "start": "22:00", "end": "01:00"}]},
        "rollout": {"canary": {"group": "canary"}, "soak_minutes": 60, "waves": ["50%", "rest"],
                    "anti_affinity": [["web1", "web2"]], "minutes_per_host": 30, "parallel": 1},
        "budget": {"max_failed": "25%"},
        "snapshot": {"default": "package", "groups": {"db": "lvm"}},
    }
    validated = policy_mod.validate_policy(written, today="2026-11-27")
    plan = build_plan(validated, fleet(), GROUPS, NOW, run_id="r1")
    expected = plan_for()
    for key in ("waves", "approved_set", "budget", "summary"):
        assert plan[key] == expected[key], key
    # the settings carry the validated policy's defaults (health checks, ...): compared below
    assert [dict(h, settings=None) for h in plan["hosts"]] == [dict(h, settings=None) for h in expected["hosts"]]
    assert plan["hosts"][0]["settings"]["health_checks"] == validated["health_checks"]


def cover_scan():
    def node(release, role, criticality, updates):
        return {"asset": {"os_distribution": "Debian", "os_version": release}, "updates": updates,
                "cmdb": {"role": role, "criticality": criticality}}
    return {
        "web1": node("11", "web", "low", [up("libssl3"), up("pp-web")]),
        "web2": node("11", "web", "low", [up("libssl3"), up("pp-web")]),
        "db1": node("12", "db", "high", [up("libssl3"), up("pp-db")]),
        "db2": node("12", "db", "high", [up("libssl3"), up("pp-db")]),
        "app1": node("13", "app", "critical", [up("libssl3"), up("pp-trixie")]),
        "app2": node("13", "app", "medium", [up("libssl3")]),
    }


def cover_policy(**canary):
    return make_policy(rollout={"canary": dict({"cover": ["release", "role", "updates"], "max": None,
                                                "exclude_criticality": []}, **canary),
                                "anti_affinity": [], "waves": [{"rest": True}]},
                       approvals={"approve": [{"package": "pp-*", "note": None}]})


def test_a_covering_canary_tests_every_kind_of_host_and_every_update_first():
    plan = plan_for(policy=cover_policy(), scan=cover_scan(), groups={})
    canary = plan["waves"][0]
    assert canary["canary"] and sorted(canary["hosts"]) == ["app1", "db1", "web1"]
    cover = plan["canary_cover"]
    assert cover["method"] == "exact" and cover["untested"] == [] and plan["summary"]["untested_in_canary"] == 0
    assert cover["tested_on"]["update pp-trixie"] == "app1"
    assert cover["tested_on"]["release Debian 12, role db"] == "db1"


def test_what_only_a_host_kept_out_of_the_canary_has_is_listed_untested():
    plan = plan_for(policy=cover_policy(exclude_criticality=["critical"]), scan=cover_scan(), groups={})
    assert "app1" not in plan["waves"][0]["hosts"] and "app2" in plan["waves"][0]["hosts"]
    untested = {u["item"]: u for u in plan["canary_cover"]["untested"]}
    assert list(untested) == ["update pp-trixie"]
    assert untested["update pp-trixie"]["reason"] == \
        "only on hosts kept out of the canary (app1: criticality critical (rollout.canary.exclude_criticality))"


def test_named_canary_hosts_stay_and_max_caps_the_cover():
    plan = plan_for(policy=cover_policy(hosts=["web2"], max=2), scan=cover_scan(), groups={})
    assert "web2" in plan["waves"][0]["hosts"] and len(plan["waves"][0]["hosts"]) == 2
    assert {u["reason"] for u in plan["canary_cover"]["untested"]} == {"rollout.canary.max is 2"}


def test_the_cmdb_rows_criticality_orders_the_waves_before_the_asset_records():
    # the scan's asset facts carry no criticality: the CMDB row (scan result "cmdb") decides
    scan = {name: host(updates=[up("libssl3")]) for name in ("app01", "db01", "web01")}
    for name, word in (("app01", "low"), ("db01", "high"), ("web01", "medium")):
        scan[name]["asset"].pop("criticality")
        scan[name]["cmdb"] = {"criticality": word}
    plan = plan_for(policy=simple_policy(waves=[{"count": 2}, {"rest": True}]), scan=scan, groups={})
    assert waves(plan) == [(1, ["app01", "web01"]), (2, ["db01"])]
    scan["db01"]["cmdb"] = {}  # no CMDB criticality: the asset record's, else medium
    scan["db01"]["asset"]["criticality"] = "low"
    plan = plan_for(policy=simple_policy(waves=[{"count": 2}, {"rest": True}]), scan=scan, groups={})
    assert waves(plan) == [(1, ["app01", "db01"]), (2, ["web01"])]


def test_each_planned_update_carries_its_sla_due_date():
    # first seen 2026-11-21 (up()); the policy's SLA days by severity; an emergency is due today
    seen_late = dict(up("libnew", severity="high"), first_seen="2026-11-30")  # after "now": counts from today
    unseen = dict(up("libunseen", severity="high"), first_seen=None)
    agent = up("pp-agent", classification="bugfix", severity="medium")
    scan = {"h1": host(updates=[up("libssl3", severity="high"), agent, seen_late, unseen])}
    policy = simple_policy()
    due = {p["name"]: p["due"] for p in by_host(plan_for(policy=policy, scan=scan, groups={}))["h1"]["packages"]}
    assert due == {"libssl3": "2026-11-28", "pp-agent": "2026-12-21", "libnew": "2026-12-04",
                   "libunseen": "2026-12-04"}
    policy["priority"] = {**(policy.get("priority") or {}), "sla_days": {"high": 1}}
    due = {p["name"]: p["due"] for p in by_host(plan_for(policy=policy, scan=scan, groups={}))["h1"]["packages"]}
    assert due["libssl3"] == "2026-11-22" and due["pp-agent"] == "2026-12-21"  # medium keeps its default 30
    policy["emergency"] = {"packages": ["libssl3"], "cves": []}
    due = {p["name"]: p["due"] for p in by_host(plan_for(policy=policy, scan=scan, groups={}))["h1"]["packages"]}
    assert due["libssl3"] == "2026-11-27"
