"""rollback_later.host_verdict: which hosts of which runs may be rolled back later."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.rollback_later import host_verdict

RUN = {"run_id": "r1", "state": "completed"}


def record(*phases):
    return {"phase": phases[-1], "history": [{"phase": p, "at": f"t{i}", "detail": None} for i, p in enumerate(phases)]}


PATCHED = ("pending", "preflight", "staged", "snapshotted", "patched", "verified", "done")


@pytest.mark.parametrize("state", ["completed", "failed", "aborted"])
def test_a_done_host_of_a_finished_run_may_be_rolled_back(state):
    verdict = host_verdict(dict(RUN, state=state), "web1", record(*PATCHED))
    assert verdict["allowed"] is True and "ended done in run r1" in verdict["reason"]


def test_a_failed_rollback_or_an_abandoned_changed_host_may_be_rolled_back_later():
    assert host_verdict(RUN, "web1", record("pending", "staged", "snapshotted", "patched", "failed"))["allowed"]
    assert host_verdict(RUN, "web1", record("pending", "staged", "snapshotted", "abandoned"))["allowed"]


def test_a_running_run_is_refused():
    verdict = host_verdict(dict(RUN, state="running"), "web1", record(*PATCHED))
    assert not verdict["allowed"] and "still unfinished (running)" in verdict["reason"]


def test_a_host_not_in_the_run_is_refused():
    verdict = host_verdict(RUN, "ghost", None)
    assert not verdict["allowed"] and verdict["reason"] == "ghost is not a host of run r1: nothing of it to roll back"


def test_a_host_rolled_back_already_is_refused():
    verdict = host_verdict(RUN, "web1", record("pending", "snapshotted", "patched", "failed", "rolled_back"))
    assert not verdict["allowed"] and "rolled back already in run r1 (at t4)" in verdict["reason"]


@pytest.mark.parametrize("phases", [("pending", "preflight", "failed"), ("pending", "staged", "abandoned"),
                                    ("pending",)])
def test_a_host_the_run_never_changed_is_refused(phases):
    verdict = host_verdict(RUN, "web1", record(*phases))
    assert not verdict["allowed"] and "was not changed by run r1" in verdict["reason"]
