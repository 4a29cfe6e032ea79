"""Closing a run that cannot go on: which runs may be closed, what each host becomes, the lock."""

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.closing import close_verdict, lock_verdict
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import (
    RunDir,
    RunRecordError,
    latest_unfinished,
)

T0 = datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc)
RUN_ID = "20261127T210000Z-a1b2c3"
HOSTS = ("app1", "web1", "db2", "web2")
CLOSED = {"by": "ops@controller", "reason": "the window of wave 2 is over"}


def run_json(state="running", finished=None):
    return {"format": 1, "run_id": RUN_ID, "state": state, "finished": finished, "scope": "hosts:x"}


@pytest.mark.parametrize(("phases", "abandoned", "kept", "changed"), [
    ({"app1": "done", "web1": "pending", "db2": "staged"}, ["web1", "db2"], {"app1": "done"}, []),
    ({"app1": "done", "web1": "failed", "db2": "rolled_back"}, [],
     {"app1": "done", "web1": "failed", "db2": "rolled_back"}, []),
    ({"app1": "patched", "web1": "snapshotted", "db2": "verified", "web2": "preflight"},
     ["app1", "web1", "db2", "web2"], {}, ["app1", "web1", "db2"]),
    ({}, [], {}, []),
])
def test_a_running_run_closes_its_unfinished_hosts(phases, abandoned, kept, changed):
    verdict = close_verdict(run_json(), phases)
    assert verdict == {"closable": True, "reason": None, "abandoned": abandoned, "kept": kept, "to_check": changed}


@pytest.mark.parametrize("state", ["completed", "failed", "aborted"])
def test_a_run_that_ended_cannot_be_closed(state):
    verdict = close_verdict(run_json(state, "2026-11-28T02:00:00+00:00"), {"app1": "done"})
    assert not verdict["closable"]
    assert verdict["reason"] == (f"run {RUN_ID} is {state} already (it ended at 2026-11-28T02:00:00+00:00):"
                                 " only a running run can be closed")


def owner(run_id=RUN_ID):
    return {"format": 1, "pid": 4242, "host": "controller", "started": "2026-11-27T21:00:00+00:00",
            "run_id": run_id, "scope": "hosts:x", "token": "t"}


@pytest.mark.parametrize(("lock", "stale", "action", "says"), [
    (None, False, "none", "not locked"),
    (owner(), False, "refuse", "held by run 20261127T210000Z-a1b2c3 of pid 4242 on controller"),
    (owner("20261128T210000Z-ffffff"), False, "refuse", "which is going on"),
    (owner(), True, "remove", "the stale run lock of this run"),
    (owner("20261128T210000Z-ffffff"), True, "keep", "the next run of the scope takes it over"),
])
def test_the_scope_lock(lock, stale, action, says):
    verdict = lock_verdict(RUN_ID, lock, stale)
    assert verdict["action"] == action and says in verdict["reason"]


# ---------------------------------------------------------------------------
# RunDir.close: what the run record keeps
# ---------------------------------------------------------------------------

def started(base):
    run = RunDir(base, RUN_ID)
    rows = [{"host": host, "wave": wave} for wave, host in enumerate(HOSTS)]
    run.start({"format": 2, "run_id": RUN_ID, "hosts": rows}, list(HOSTS), at=T0)
    return run


def test_close_abandons_the_unfinished_hosts_and_keeps_the_others(tmp_path):
    run = started(tmp_path)
    for phase in ("preflight", "staged", "snapshotted", "patched", "verified", "done"):
        run.record("app1", phase, at=T0)
    run.record("web1", "failed", at=T0)
    run.record("db2", "staged", at=T0)
    kept_web1 = run.host("web1")
    verdict = close_verdict(run.run, run.hosts())
    closed = run.close(verdict["abandoned"], CLOSED, at=T0 + timedelta(hours=5))

    assert closed["state"] == "aborted" and closed["finished"] == "2026-11-28T02:00:00+00:00"
    assert closed["closed"] == dict(CLOSED, at="2026-11-28T02:00:00+00:00", abandoned=["db2", "web2"])
    assert run.run == closed
    assert run.hosts() == {"app1": "done", "web1": "failed", "db2": "abandoned", "web2": "abandoned"}
    assert run.host("web1") == kept_web1
    assert run.host("db2")["history"][-1] == {"phase": "abandoned", "at": "2026-11-28T02:00:00+00:00",
                                              "detail": dict(CLOSED, was="staged")}
    assert run.pending_hosts() == []
    assert latest_unfinished(tmp_path, list(HOSTS)) is None
    with pytest.raises(RunRecordError, match="db2: abandoned, cannot move to patched"):
        run.record("db2", "patched")
    assert run.mark_unreachable("web2", "gone") is None


def test_close_refuses_a_run_that_ended_and_finished_hosts(tmp_path):
    run = started(tmp_path)
    run.record("app1", "failed", at=T0)
    with pytest.raises(RunRecordError, match="finished hosts cannot be abandoned: app1 \\(failed\\)"):
        run.close(["app1", "web1"], CLOSED)
    assert run.hosts()["web1"] == "pending" and run.run["state"] == "running"
    run.finish("failed")
    with pytest.raises(RunRecordError, match="is failed already"):
        run.close(["web1"], CLOSED)
    assert run.hosts()["web1"] == "pending"
