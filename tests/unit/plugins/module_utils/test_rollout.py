"""Rollout decisions between waves: the failure budget, the canary, and the wave's window."""

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import rollout

NOW = datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc)


def plan(max_failed=1, count_unreachable=True, windows=True, bypassed=()):
    window = "weeknights" if windows else None

    def wave(number, hosts, start, end, canary=False):
        return {"wave": number, "canary": canary, "hosts": hosts, "start": start.isoformat(),
                "end": end.isoformat(), "schedule": [{"window": window, "hosts": hosts}]}

    return {
        "budget": {"max_failed": max_failed, "count_unreachable": count_unreachable},
        "bypassed": list(bypassed),
        "waves": [wave(0, ["web1"], NOW, NOW + timedelta(minutes=40), canary=True),
                  wave(1, ["app1", "db1"], NOW + timedelta(minutes=40), NOW + timedelta(minutes=60)),
                  wave(2, ["db2", "web2"], NOW + timedelta(hours=3), NOW + timedelta(hours=4))],
        "hosts": [{"host": h, "wave": w} for h, w in
                  (("web1", 0), ("app1", 1), ("db1", 1), ("db2", 2), ("web2", 2), ("old1", None))],
    }


def record(phase, unreachable=False):
    detail = {"unreachable": True} if unreachable else None
    return {"phase": phase, "history": [{"phase": "pending", "detail": None}, {"phase": phase, "detail": detail}]}


def records(**phases):
    base = {h: record("pending") for h in ("web1", "app1", "db1", "db2", "web2")}
    base.update(phases)
    return base


def test_wave_hosts_and_canary_come_from_the_plan():
    assert rollout.wave_hosts(plan()) == {0: ["web1"], 1: ["app1", "db1"], 2: ["db2", "web2"]}
    assert rollout.canary_hosts(plan()) == ["web1"]
    assert rollout.canary_hosts({"waves": [{"wave": 0, "canary": False, "hosts": ["a"]}]}) == []


def test_a_budget_of_one_tolerates_one_failure_and_stops_at_the_second():
    one = rollout.budget_status(plan(), records(web1=record("done"), app1=record("rolled_back")))
    assert (one["counted"], one["spent"], one["halt"]) == (["app1"], False, False)
    two = rollout.budget_status(plan(), records(web1=record("done"), app1=record("rolled_back"),
                                                db1=record("failed")))
    assert two["spent"] and two["halt"]
    assert two["reason"] == "the failure budget is spent: 2 hosts counted (app1, db1), the run tolerates 1"


def test_unreachable_hosts_count_unless_the_policy_says_not():
    found = records(web1=record("done"), app1=record("patched", unreachable=True), db1=record("failed"))
    assert rollout.budget_status(plan(), found)["counted"] == ["app1", "db1"]
    assert rollout.budget_status(plan(), found)["halt"]
    relaxed = rollout.budget_status(plan(count_unreachable=False), found)
    assert (relaxed["counted"], relaxed["unreachable"], relaxed["halt"]) == (["db1"], ["app1"], False)


def test_a_host_reached_again_after_being_unreachable_no_longer_counts():
    again = record("patched", unreachable=True)
    again["history"].append({"phase": "verified", "detail": None})
    again["phase"] = "verified"
    assert rollout.budget_status(plan(max_failed=0), records(app1=again))["counted"] == []


def test_a_failed_canary_halts_whatever_the_budget():
    status = rollout.budget_status(plan(max_failed=3), records(web1=record("rolled_back")))
    assert status["canary_failed"] == ["web1"] and not status["spent"] and status["halt"]
    assert status["reason"].startswith("the canary failed (web1)")
    assert rollout.budget_status(plan(max_failed=3), records(web1=record("pending", unreachable=True)))["halt"]


def test_counts_by_phase_and_unreachable():
    counts = rollout.host_counts(records(web1=record("done"), app1=record("staged", unreachable=True)))
    assert counts == {"done": 1, "staged": 1, "pending": 3, "unreachable": 1}


@pytest.mark.parametrize(("wave", "now", "expected"), [
    (0, NOW, {"go": True, "wait_seconds": 0, "reason": None}),
    (1, NOW + timedelta(minutes=39, seconds=30), {"go": True, "wait_seconds": 31, "reason": None}),
    (2, NOW + timedelta(minutes=30), {"go": False, "wait_seconds": 9001,
                                      "reason": "wave 2 is planned to start at 2026-11-28T00:00:00+00:00: rerun then"
                                                " (the run stays open and continues where it stopped)"}),
    (1, NOW + timedelta(minutes=61), {"go": False, "wait_seconds": 0,
                                      "reason": "wave 1 was planned for 2026-11-27T21:40:00+00:00 .."
                                                " 2026-11-27T22:00:00+00:00: that window is over, make a new plan"}),
    (7, NOW, {"go": False, "wait_seconds": 0, "reason": "wave 7 is not in the plan"}),
])
def test_a_wave_starts_only_inside_its_window(wave, now, expected):
    assert rollout.gate(plan(), wave, now, max_wait=3600) == expected


def test_without_windows_or_when_an_emergency_bypasses_them_a_wave_starts_at_once():
    late = NOW + timedelta(days=2)
    assert rollout.gate(plan(windows=False), 2, NOW)["go"]
    assert rollout.gate(plan(windows=False), 1, late)["go"]
    assert rollout.gate(plan(bypassed=["windows"]), 2, NOW) == {"go": True, "wait_seconds": 0, "reason": None}


def frozen_plan(bypassed=()):
    """No windows; a freeze until 2026-11-30 moved the canary (wave 0) to its end, wave 1 follows it."""
    found = plan(windows=False, bypassed=bypassed)
    thaw = datetime(2026, 11, 30, tzinfo=timezone.utc)
    for number, wave in enumerate(found["waves"]):
        wave["start"] = (thaw + timedelta(minutes=10 * number)).isoformat()
        wave["end"] = (thaw + timedelta(minutes=10 * number + 10)).isoformat()
    found["waves"][0]["deferred"] = [{"window": None, "start": NOW.isoformat(), "end": thaw.isoformat(),
                                      "reason": "frozen: year-end freeze", "hosts": ["web1"]}]
    return found


def test_without_windows_a_wave_a_freeze_moved_waits_for_its_start():
    for wave in (0, 1):  # wave 1 was not deferred itself: it follows the frozen canary
        held = rollout.gate(frozen_plan(), wave, NOW, max_wait=3600)
        assert not held["go"] and held["wait_seconds"] > 3600, held
        assert held["reason"].startswith(f"wave {wave} is planned to start at 2026-11-30T00:")
        assert "after the freeze (year-end freeze): rerun then" in held["reason"]
    # shortly before the thaw it waits; after it, the waves start at once as without windows
    soon = rollout.gate(frozen_plan(), 0, datetime(2026, 11, 29, 23, 59, tzinfo=timezone.utc))
    assert soon == {"go": True, "wait_seconds": 61, "reason": None}
    late = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
    assert rollout.gate(frozen_plan(), 1, late) == {"go": True, "wait_seconds": 0, "reason": None}
    # an emergency that bypasses the freezes starts at once
    assert rollout.gate(frozen_plan(bypassed=["windows", "freezes"]), 0, NOW)["go"]
