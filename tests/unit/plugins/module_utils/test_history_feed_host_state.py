"""history_feed.host_state: a host's result in a run, from its phase history and the plan."""

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.history_feed import host_state, went_unreachable

ROLLOUT = {"host": "web01", "status": "rollout", "wave": 1}


def record(*phases, unreachable_at=None):
    history = [{"phase": p, "at": f"2026-12-01T10:0{i}:00+00:00", "detail": None} for i, p in enumerate(phases)]
    if unreachable_at is not None:
        history[unreachable_at]["detail"] = {"unreachable": True, "message": "unreachable in wave 1"}
    return {"host": "web01", "phase": phases[-1], "history": history}


@pytest.mark.parametrize("phase", ["done", "failed", "rolled_back", "abandoned"])
def test_a_finished_host_is_its_last_phase(phase):
    assert host_state(ROLLOUT, record("pending", "preflight", phase)) == phase


def test_a_finished_host_stays_finished_though_it_was_unreachable_once():
    assert host_state(ROLLOUT, record("pending", "staged", "done", unreachable_at=1)) == "done"
    assert host_state(ROLLOUT, record("pending", "done"), noted_unreachable=True) == "done"


def test_an_unfinished_host_that_went_unreachable_is_unreachable():
    assert host_state(ROLLOUT, record("pending", "preflight", "staged", unreachable_at=2)) == "unreachable"
    assert host_state(ROLLOUT, record("pending", "staged"), noted_unreachable=True) == "unreachable"


def test_a_host_the_scan_could_not_reach_is_unreachable():
    assert host_state({"host": "db01", "status": "unscannable", "wave": None}, None) == "unreachable"


@pytest.mark.parametrize("phases", [("pending",), ("pending", "preflight"), ("pending", "preflight", "staged")])
def test_a_host_left_before_it_changed_is_not_started(phases):
    assert host_state(ROLLOUT, record(*phases)) == "not_started"


@pytest.mark.parametrize("phase", ["snapshotted", "patched", "verified"])
def test_a_host_left_half_way_is_abandoned(phase):
    assert host_state(ROLLOUT, record("pending", "staged", phase)) == "abandoned"


@pytest.mark.parametrize("status, state", [("nothing_to_do", "done"), ("refused", "not_started")])
def test_a_host_in_no_wave_by_its_plan_status(status, state):
    assert host_state({"host": "x", "status": status, "wave": None}, None) == state


def test_went_unreachable_reads_any_entry():
    assert went_unreachable(record("pending", "staged", unreachable_at=0)["history"])
    assert not went_unreachable(record("pending", "staged")["history"])
    assert not went_unreachable([{"phase": "pending", "detail": "unreachable"}])
