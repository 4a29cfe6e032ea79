"""runrecord's pieces for breaking a lock by hand: the owner user, list_locks, remove_if_owner,
append_private_jsonl and RunDir.add_event."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import (LockError, LockHeld, RunDir,
                                                                                 RunLock, RunRecordError,
                                                                                 append_private_jsonl, list_locks,
                                                                                 write_json)

SCOPE = "hosts:web1,web2"


def test_the_lock_names_its_user_and_job_and_older_locks_are_still_read(tmp_path):
    lock = RunLock(tmp_path, SCOPE, run_id="r1")
    record = lock.acquire(user="alice", job_id="4711")
    assert record["user"] == "alice" and record["job_id"] == "4711"
    assert json.loads(open(lock.path, encoding="utf-8").read())["user"] == "alice"
    lock.release()
    old = {"format": 1, "pid": 1, "host": "elsewhere", "started": "2026-11-27T20:00:00+00:00", "run_id": "r0",
           "scope": SCOPE, "token": "x"}  # a lock of version 0.1: no user
    write_json(lock.path, old)
    assert list_locks(tmp_path) == [{"name": os.path.basename(lock.path), "key": lock.key, "path": lock.path,
                                     "owner": old}]


def test_list_locks_skips_other_files_and_reads_unreadable_ones(tmp_path):
    assert list_locks(tmp_path) == []
    RunLock(tmp_path, SCOPE, run_id="r1").acquire()
    folder = tmp_path / "locks"
    (folder / "broken.jsonl").write_text("{}\n")
    (folder / "0000000000000000.lock").write_text("garbage")
    found = list_locks(tmp_path)
    assert [f["name"] for f in found] == ["0000000000000000.lock", RunLock(tmp_path, SCOPE).key + ".lock"]
    assert "unreadable" in found[0]["owner"]["error"] and found[1]["owner"]["run_id"] == "r1"


def test_remove_if_owner_removes_only_the_owner_seen(tmp_path):
    lock = RunLock(tmp_path, SCOPE, run_id="r1")
    seen = lock.acquire()
    by_key = RunLock.from_key(tmp_path, lock.key)
    assert by_key.path == lock.path and by_key.read() == seen
    with pytest.raises(LockHeld, match="changed hands"):
        by_key.remove_if_owner(dict(seen, token="another"))
    assert os.path.exists(lock.path)
    by_key.remove_if_owner(seen)
    assert not os.path.exists(lock.path)
    with pytest.raises(LockError, match="no lock to break"):
        by_key.remove_if_owner(seen)
    with pytest.raises(RunRecordError, match="cannot name a lock file"):
        RunLock.from_key(tmp_path, "../x")


def test_the_broken_record_is_appended_private(tmp_path):
    path = tmp_path / "broken.jsonl"
    append_private_jsonl(str(path), {"n": 1})
    append_private_jsonl(str(path), {"n": 2})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"n": 1}, {"n": 2}]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(RunRecordError, match="group or others may read"):
        append_private_jsonl(str(path), {"n": 3})
    os.symlink(path, tmp_path / "link.jsonl")
    with pytest.raises(RunRecordError, match="cannot open"):
        append_private_jsonl(str(tmp_path / "link.jsonl"), {"n": 3})
    assert len(path.read_text().splitlines()) == 2


def test_a_run_event_is_kept_in_run_json_and_the_hosts_are_left_alone(tmp_path):
    run = RunDir(tmp_path, "r1")
    run.start({"format": 2, "run_id": "r1", "hosts": [{"host": "web1", "wave": 0}]}, SCOPE)
    run.record("web1", "done")
    before = run.host("web1")
    run.add_event("lock_broken", {"reason": "gone"})
    run.finish("completed")
    run.add_event("lock_broken", {"reason": "again"})
    events = run.run["events"]
    assert [e["detail"]["reason"] for e in events] == ["gone", "again"]
    assert all(e["event"] == "lock_broken" for e in events)
    assert run.host("web1") == before and run.run["state"] == "completed"
    with pytest.raises(RunRecordError, match="is not a name"):
        run.add_event("", {})


def test_record_later_moves_a_finished_host_of_a_finished_run(tmp_path):
    run = RunDir(tmp_path, "r2")
    run.start({"format": 2, "run_id": "r2", "hosts": [{"host": "web1", "wave": 0}, {"host": "db1", "wave": 0}]},
              SCOPE)
    run.record("web1", "done")
    with pytest.raises(RunRecordError, match="still running"):
        run.record_later("web1", "rolled_back", {})
    run.finish("completed")
    with pytest.raises(RunRecordError, match="not 'done'"):
        run.record_later("web1", "done", {})
    with pytest.raises(RunRecordError, match="db1: pending, cannot be rolled back later"):
        run.record_later("db1", "rolled_back", {})
    updated = run.record_later("web1", "rolled_back", {"later": True})
    assert updated["phase"] == "rolled_back" and updated["history"][-1]["detail"] == {"later": True}
    with pytest.raises(RunRecordError, match="rolled_back, cannot be rolled back later"):
        run.record_later("web1", "rolled_back", {})
