"""lockbreak.break_verdict: which locks a person may break, and why not."""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.lockbreak import break_verdict

HERE = "controller-1"
OWNER = {"format": 1, "pid": 4242, "pid_start": 7, "host": "vanished-runner-7", "started": "2026-12-01T02:00:00+00:00",
         "run_id": "20261201T020000Z-abcdef", "scope": "hosts:web1", "token": "t", "user": "alice", "job_id": "4711"}


def test_a_lock_of_another_machine_is_broken_on_the_word_of_the_person():
    verdict = break_verdict(OWNER, HERE, alive=False, reason="job 4711 killed")
    assert verdict["action"] == "break" and verdict["where"] == "another machine"
    assert "vanished-runner-7" in verdict["reason"] and "alice, AWX job 4711" in verdict["reason"]


def test_a_live_process_of_this_machine_is_never_broken():
    verdict = break_verdict(dict(OWNER, host=HERE), HERE, alive=True, reason="I am sure")
    assert verdict["action"] == "refuse" and verdict["where"] == "this machine"
    assert "live process of this machine" in verdict["reason"]


def test_a_dead_process_of_this_machine_is_broken():
    verdict = break_verdict(dict(OWNER, host=HERE), HERE, alive=False, reason="crashed")
    assert verdict == {"action": "break", "where": "this machine", "reason": verdict["reason"]}
    assert verdict["reason"].endswith("its process is gone from this machine")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_no_reason_no_break(reason):
    verdict = break_verdict(OWNER, HERE, alive=False, reason=reason)
    assert verdict["action"] == "refuse" and "patchpilot_lock_reason" in verdict["reason"]


def test_an_unreadable_lock_may_be_broken_and_an_older_lock_without_user_is_described():
    verdict = break_verdict({"error": "unreadable lock file: Expecting value"}, HERE, alive=False, reason="junk")
    assert verdict["action"] == "break" and verdict["where"] == "unknown"
    older = {k: v for k, v in OWNER.items() if k not in ("user", "job_id")}
    verdict = break_verdict(older, HERE, alive=False, reason="old")
    assert verdict["action"] == "break" and "(user not recorded)" in verdict["reason"]
