"""Run record: the run directory, atomic writes, resuming, and the run lock across processes."""

import json
import multiprocessing
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import runrecord
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import (
    PHASES,
    LockError,
    LockHeld,
    RunDir,
    RunLock,
    RunRecordError,
    StaleLock,
    inventory_scope,
    latest_unfinished,
    scope_key,
    write_json,
)
from support.skips import require

T0 = datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc)
RUN_ID = "20261127T210000Z-a1b2c3"
HOSTS = ("web1", "web2", "app1", "db2")


def plan(run_id=RUN_ID):
    """The parts of a plan the run record reads: hosts with their waves."""
    rows = [{"host": "app1", "wave": 0}, {"host": "web1", "wave": 1}, {"host": "web2", "wave": 2},
            {"host": "db2", "wave": 1}, {"host": "db1", "wave": None}]
    return {"format": 2, "run_id": run_id, "change_ticket": "CHG-4711", "policy_digest": "sha256:00",
            "hosts": rows}


def started(base, run_id=RUN_ID, scope=HOSTS, at=T0):
    run = RunDir(base, run_id)
    run.start(plan(run_id), scope, at=at)
    return run


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------------------
# The run directory
# ---------------------------------------------------------------------------

def test_start_writes_plan_run_and_pending_hosts(tmp_path):
    run = started(tmp_path)
    folder = tmp_path / RUN_ID
    assert mode(folder) == 0o750 and mode(folder / "hosts") == 0o750
    assert sorted(os.listdir(folder)) == [".lock", "hosts", "plan.json", "run.json"]
    assert mode(folder / ".lock") == 0o640
    assert sorted(os.listdir(folder / "hosts")) == ["app1.json", "db2.json", "web1.json", "web2.json"]
    assert json.loads((folder / "plan.json").read_text()) == plan()
    key, text = scope_key(HOSTS)
    assert json.loads((folder / "run.json").read_text()) == {
        "format": 1, "run_id": RUN_ID, "state": "running", "started": "2026-11-27T21:00:00+00:00",
        "finished": None, "change_ticket": "CHG-4711", "policy_digest": "sha256:00",
        "scope": text, "scope_key": key, "hosts": 4,
    }
    assert json.loads((folder / "hosts" / "web1.json").read_text()) == {
        "format": 1, "host": "web1", "phase": "pending",
        "history": [{"phase": "pending", "at": "2026-11-27T21:00:00+00:00", "detail": None}],
    }
    assert mode(folder / "run.json") == 0o640
    # In wave order, then by name; db1 has no wave and is not part of the run.
    assert run.pending_hosts() == ["app1", "db2", "web1", "web2"]


def test_directory_mode_ignores_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        started(tmp_path)
    finally:
        os.umask(old)
    assert mode(tmp_path / RUN_ID) == 0o750


def test_record_moves_hosts_through_the_phases(tmp_path):
    run = started(tmp_path)
    for minute, phase in enumerate(["preflight", "staged", "snapshotted", "patched", "verified", "done"], 1):
        run.record("app1", phase, {"step": phase}, at=T0 + timedelta(minutes=minute))
    record = run.host("app1")
    assert record["phase"] == "done"
    assert [h["phase"] for h in record["history"]] == ["pending", "preflight", "staged", "snapshotted",
                                                       "patched", "verified", "done"]
    assert record["history"][-1] == {"phase": "done", "at": "2026-11-27T21:06:00+00:00", "detail": {"step": "done"}}
    run.record("web1", "failed", "apt-get exited 100")
    run.record("web1", "rolled_back", "snapshot restored")
    run.record("web2", "failed", "health check: nginx down")
    assert run.pending_hosts() == ["db2"]
    assert run.hosts() == {"app1": "done", "db2": "pending", "web1": "rolled_back", "web2": "failed"}


@pytest.mark.parametrize("history, phase, message", [
    (["done"], "patched", "app1: done, cannot move to patched"),
    (["failed"], "preflight", "app1: failed, cannot move to preflight"),
    (["failed", "rolled_back"], "failed", "app1: rolled_back, cannot move to failed"),
    ([], "finished", "phase: 'finished' is not one of " + ", ".join(PHASES)),
])
def test_finished_hosts_are_left_alone(tmp_path, history, phase, message):
    run = started(tmp_path)
    for step in history:
        run.record("app1", step)
    before = run.host("app1")
    with pytest.raises(RunRecordError, match=message):
        run.record("app1", phase)
    assert run.host("app1") == before


def test_a_rerun_may_repeat_the_phases_of_an_unfinished_host(tmp_path):
    run = started(tmp_path)
    run.record("db2", "patched")
    run.record("db2", "preflight", "rerun")
    assert run.host("db2")["phase"] == "preflight"


def test_unknown_host_and_bad_names(tmp_path):
    run = started(tmp_path)
    with pytest.raises(RunRecordError, match="no progress record of db1"):
        run.record("db1", "preflight")
    with pytest.raises(RunRecordError, match="cannot name a host file"):
        run.record("../run", "preflight")
    for bad in ("", "..", "a/b", "locks", ".hidden"):
        with pytest.raises(RunRecordError, match="cannot name a run directory"):
            RunDir(tmp_path, bad)


def test_resume_after_interruption(tmp_path):
    run = started(tmp_path)
    run.record("app1", "done")
    run.record("db2", "staged")
    del run  # the controller dies here
    resumed = RunDir.load(tmp_path, RUN_ID)
    assert resumed.pending_hosts() == ["db2", "web1", "web2"]
    assert resumed.host("app1")["phase"] == "done"
    assert resumed.plan == plan()
    with pytest.raises(RunRecordError, match="was started already"):
        resumed.start(plan(), HOSTS)


def test_finish_closes_the_run(tmp_path):
    run = started(tmp_path)
    closed = run.finish("completed", at=T0 + timedelta(hours=2))
    assert (closed["state"], closed["finished"]) == ("completed", "2026-11-27T23:00:00+00:00")
    assert RunDir.load(tmp_path, RUN_ID).run == closed
    with pytest.raises(RunRecordError, match="is completed already"):
        run.finish("failed")
    with pytest.raises(RunRecordError, match="state: 'running' is not one of"):
        started(tmp_path, "other").finish("running")


def test_load_refuses_missing_and_foreign_records(tmp_path):
    with pytest.raises(RunRecordError, match="no run nothing to load"):
        RunDir.load(tmp_path, "nothing")
    started(tmp_path)
    path = tmp_path / RUN_ID / "run.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps(dict(record, format=2)))
    with pytest.raises(RunRecordError, match="run record format 2 is not 1"):
        RunDir.load(tmp_path, RUN_ID)
    path.write_text("{half")
    with pytest.raises(RunRecordError, match="unreadable run record"):
        RunDir.load(tmp_path, RUN_ID)


def test_start_checks_the_plan(tmp_path):
    with pytest.raises(RunRecordError, match="made for run other, not"):
        RunDir(tmp_path, RUN_ID).start(plan("other"), HOSTS)
    with pytest.raises(RunRecordError, match="plan: format None is not 2: make the plan again"):
        RunDir(tmp_path, RUN_ID).start({"hosts": []}, HOSTS)
    with pytest.raises(RunRecordError, match="plan: format 1 is not 2"):
        RunDir(tmp_path, RUN_ID).start(dict(plan(RUN_ID), format=1), HOSTS)


def test_a_started_run_with_a_format_1_plan_is_still_read(tmp_path):
    run = RunDir(tmp_path, RUN_ID)
    run.start(plan(RUN_ID), HOSTS)
    write_json(run.plan_path, dict(plan(RUN_ID), format=1))
    assert RunDir.load(tmp_path, RUN_ID).plan["format"] == 1
    write_json(run.plan_path, dict(plan(RUN_ID), format=3))
    with pytest.raises(RunRecordError, match="plan format 3 is not one of 1, 2"):
        RunDir.load(tmp_path, RUN_ID).plan.get("format")


def test_files_of_a_newer_patchpilot_are_refused_by_name(tmp_path):
    """Upgrade safety: run records, host records, plans and locks written by a newer version are refused as such."""
    newer = "written by a newer patchpilot"
    run = started(tmp_path)
    record = json.loads(open(run.run_path, encoding="utf-8").read())
    write_json(run.run_path, dict(record, format=2))
    with pytest.raises(RunRecordError, match=f"run.json: run record format 2 is not 1: {newer}"):
        RunDir.load(tmp_path, RUN_ID)
    write_json(run.run_path, record)
    host_path = tmp_path / RUN_ID / "hosts" / "web1.json"
    write_json(str(host_path), dict(json.loads(host_path.read_text()), format=7))
    with pytest.raises(RunRecordError, match=f"web1.json: host record format 7 is not 1: {newer}"):
        run.host("web1")
    write_json(run.plan_path, dict(plan(RUN_ID), format=3))
    with pytest.raises(RunRecordError, match=f"plan.json: plan format 3 is not one of 1, 2: {newer}"):
        RunDir.load(tmp_path, RUN_ID).plan.get("format")
    with pytest.raises(RunRecordError, match=f"plan: plan format 3 is not 2: {newer}"):
        RunDir(tmp_path, "20261127T230000Z-000002").start(dict(plan("20261127T230000Z-000002"), format=3), HOSTS)
    with pytest.raises(RunRecordError, match=f"plan: plan format 3 is not 2: {newer}"):
        run.replace_plan(dict(plan(RUN_ID), format=3))
    lock = RunLock(tmp_path, HOSTS)
    os.makedirs(lock.folder)
    write_json(lock.path, {"format": 2, "pid": 999999, "host": socket.gethostname(), "run_id": "new"})
    with pytest.raises(LockHeld, match=f"locked by .*\\.lock, a run lock format 2 is not 1: {newer}"):
        lock.acquire()
    with pytest.raises(LockHeld, match=newer):
        lock.break_stale()


def test_latest_unfinished_by_scope(tmp_path):
    assert latest_unfinished(tmp_path / "none", HOSTS) is None
    started(tmp_path, "20261120T210000Z-000001", at=T0 - timedelta(days=7)).finish("completed")
    started(tmp_path, "20261125T210000Z-000002", at=T0 - timedelta(days=2))
    started(tmp_path, "20261126T210000Z-000003", at=T0 - timedelta(days=1))
    started(tmp_path, "20261127T210000Z-000004", scope=["other1"])
    (tmp_path / "stray").mkdir()  # no run.json: not a run
    found = latest_unfinished(tmp_path, list(reversed(HOSTS)))
    assert found.run_id == "20261126T210000Z-000003"
    assert latest_unfinished(tmp_path, ["other1"]).run_id == "20261127T210000Z-000004"
    found.finish("aborted")
    assert latest_unfinished(tmp_path, HOSTS).run_id == "20261125T210000Z-000002"


# ---------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------

def test_write_json_replaces_atomically_and_syncs(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_text('{"old": true}\n')
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(runrecord.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    write_json(str(target), {"new": True})
    assert json.loads(target.read_text()) == {"new": True}
    assert len(synced) == 2  # the file, then the folder
    assert os.listdir(tmp_path) == ["record.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_text('{"old": true}\n')

    def crash(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(runrecord.os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        write_json(str(target), {"new": True})
    assert target.read_text() == '{"old": true}\n'
    assert os.listdir(tmp_path) == ["record.json"]


def test_unserialisable_data_leaves_the_old_file(tmp_path):
    target = tmp_path / "record.json"
    target.write_text('{"old": true}\n')
    with pytest.raises(TypeError):
        write_json(str(target), {"when": object()})
    assert target.read_text() == '{"old": true}\n' and os.listdir(tmp_path) == ["record.json"]


def test_every_record_goes_through_the_atomic_write(tmp_path, monkeypatch):
    run = started(tmp_path)
    written = []
    real = runrecord.write_json
    monkeypatch.setattr(runrecord, "write_json", lambda path, data: written.append(os.path.basename(path))
                        or real(path, data))
    run.record("db2", "preflight")
    run.finish("aborted")
    assert written == ["db2.json", "run.json"]


# ---------------------------------------------------------------------------
# Scope
# ---------------------------------------------------------------------------

def test_scope_key():
    key, text = scope_key(["web2", "web1", "web1"])
    assert text == "hosts:web1,web2" and len(key) == 16
    assert scope_key(("web1", "web2")) == (key, text)
    assert scope_key(["web1"])[0] != key
    scope = inventory_scope("inventories/prod/hosts.yml", "web")
    assert scope == f"inventory:{os.path.abspath('inventories/prod/hosts.yml')}|limit:web"
    assert inventory_scope("inv.yml").endswith("|limit:all")
    for bad in ([], "  ", None, 5):
        with pytest.raises(RunRecordError, match="scope"):
            scope_key(bad)


# ---------------------------------------------------------------------------
# The run lock
# ---------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunLock
    lock = RunLock(sys.argv[1], sys.argv[2].split(","), run_id=sys.argv[3])
    lock.acquire()
    if sys.argv[4] == "die":
        import os
        os._exit(0)  # gone without releasing: the lock file stays behind
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the test closes stdin
    lock.release()
    print("released", flush=True)
""")


def holder(base, run_id, how):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(base), ",".join(HOSTS), run_id, how],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


@pytest.fixture
def live_holder(tmp_path):
    proc = holder(tmp_path, "run-held", "hold")
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_lock_held_by_a_live_process(tmp_path, live_holder):
    lock = RunLock(tmp_path, HOSTS, run_id="run-mine")
    with pytest.raises(LockHeld) as excinfo:
        lock.acquire()
    owner = excinfo.value.owner
    assert (owner["pid"], owner["host"], owner["run_id"]) == (live_holder.pid, socket.gethostname(), "run-held")
    assert owner["scope"] == scope_key(HOSTS)[1]
    assert f"pid {live_holder.pid}" in str(excinfo.value) and "which is running" in str(excinfo.value)
    with pytest.raises(LockHeld):
        lock.break_stale()
    assert lock.release() is False  # never ours: the holder's lock stays
    assert os.path.exists(lock.path)
    # The holder lets go: the lock is free.
    live_holder.stdin.close()
    assert live_holder.stdout.readline().strip() == "released"
    assert live_holder.wait() == 0
    assert lock.acquire()["run_id"] == "run-mine"
    assert lock.release() is True and not os.path.exists(lock.path)


def test_lock_of_a_dead_process_is_stale_and_kept(tmp_path):
    proc = holder(tmp_path, "run-dead", "die")
    assert proc.wait() == 0
    lock = RunLock(tmp_path, HOSTS, run_id="run-mine")
    with pytest.raises(StaleLock) as excinfo:
        lock.acquire()
    assert excinfo.value.owner["pid"] == proc.pid and excinfo.value.owner["run_id"] == "run-dead"
    assert "stale lock" in str(excinfo.value) and "break_stale" in str(excinfo.value)
    assert os.path.exists(lock.path)  # reported, not broken
    with pytest.raises(StaleLock):
        lock.acquire()
    assert lock.break_stale()["run_id"] == "run-dead"
    assert lock.acquire()["run_id"] == "run-mine"
    assert lock.release() is True


def test_killed_holder_leaves_a_stale_lock(tmp_path, live_holder):
    live_holder.kill()
    live_holder.wait()
    with pytest.raises(StaleLock):
        RunLock(tmp_path, HOSTS).acquire()


def test_lock_file_content_and_place(tmp_path):
    lock = RunLock(tmp_path, HOSTS, run_id=RUN_ID)
    record = lock.acquire(at=T0)
    assert lock.path == os.path.join(tmp_path, "locks", scope_key(HOSTS)[0] + ".lock")
    on_disk = json.loads(open(lock.path, encoding="utf-8").read())
    assert on_disk == record
    assert {k: record[k] for k in ("format", "pid", "host", "started", "run_id", "scope")} == {
        "format": 1, "pid": os.getpid(), "host": socket.gethostname(), "started": "2026-11-27T21:00:00+00:00",
        "run_id": RUN_ID, "scope": "hosts:app1,db2,web1,web2"}
    assert os.listdir(tmp_path / "locks") == [os.path.basename(lock.path)]  # no temporary left
    # A second lock object of this process is refused too: the lock is per run, not per process.
    with pytest.raises(LockHeld):
        RunLock(tmp_path, list(reversed(HOSTS))).acquire()
    # Another scope has its own lock.
    with RunLock(tmp_path, ["other1"]) as other:
        assert other.owner is not None
    assert lock.release() is True


def test_release_removes_only_our_own_lock(tmp_path):
    lock = RunLock(tmp_path, HOSTS)
    assert lock.release() is False
    lock.acquire()
    os.unlink(lock.path)  # broken by hand, then taken by another run
    other = RunLock(tmp_path, HOSTS, run_id="other")
    other.acquire()
    assert lock.release() is False
    assert json.loads(open(other.path, encoding="utf-8").read())["run_id"] == "other"


def test_lock_from_another_machine_is_held(tmp_path):
    lock = RunLock(tmp_path, HOSTS)
    os.makedirs(lock.folder)
    write_json(lock.path, {"format": 1, "pid": 1, "host": "elsewhere.example", "started": "2026-11-27T20:00:00+00:00",
                           "run_id": "awx-17", "scope": "hosts:app1,db2,web1,web2", "token": "x"})
    with pytest.raises(LockHeld, match="another machine"):
        lock.acquire()
    with pytest.raises(LockHeld, match="another machine"):
        lock.break_stale()


def test_reused_pid_is_not_the_owner(tmp_path):
    lock = RunLock(tmp_path, HOSTS)
    os.makedirs(lock.folder)
    me = runrecord._proc_stat(os.getpid())
    require(me is not None, "needs /proc")
    # Our own pid, but another start time: the process that took the lock is gone.
    write_json(lock.path, {"format": 1, "pid": os.getpid(), "pid_start": me[1] - 1, "host": socket.gethostname(),
                           "started": "2026-11-27T20:00:00+00:00", "run_id": "old", "scope": "x", "token": "x"})
    with pytest.raises(StaleLock):
        lock.acquire()


def test_unreadable_lock_is_held_not_stale(tmp_path):
    lock = RunLock(tmp_path, HOSTS)
    os.makedirs(lock.folder)
    with open(lock.path, "w", encoding="utf-8") as handle:
        handle.write("garbage")
    with pytest.raises(LockHeld, match="unreadable lock"):
        lock.acquire()
    with pytest.raises(LockHeld):
        lock.break_stale()
    assert os.path.exists(lock.path)


def test_break_stale_without_a_lock(tmp_path):
    with pytest.raises(LockError, match="no lock to break"):
        RunLock(tmp_path, HOSTS).break_stale()


def test_a_failed_host_may_be_recorded_failed_again_with_what_its_rollback_tried(tmp_path):
    run = started(tmp_path)
    run.record("web1", "failed", {"step": "patch"})
    run.record("web1", "failed", {"rollback_failed": True, "tried": ["apt-get install old.deb"]})
    assert [h["phase"] for h in run.host("web1")["history"]] == ["pending", "failed", "failed"]
    assert run.pending_hosts() == ["app1", "db2", "web2"]


def test_an_unreachable_host_keeps_its_phase_and_stays_pending(tmp_path):
    run = started(tmp_path)
    run.record("web1", "patched")
    run.mark_unreachable("web1", "unreachable during wave 1", at=T0)
    record = run.host("web1")
    assert record["phase"] == "patched"
    assert record["history"][-1] == {"phase": "patched", "at": "2026-11-27T21:00:00+00:00",
                                     "detail": {"unreachable": True, "message": "unreachable during wave 1"}}
    assert "web1" in run.pending_hosts()
    run.record("app1", "done")
    assert run.mark_unreachable("app1") is None
    assert run.host("app1")["phase"] == "done"


def test_halt_is_written_once_with_its_reason(tmp_path):
    run = started(tmp_path)
    run.halt("the canary failed (app1)", at=T0)
    run.halt("another reason", at=T0 + timedelta(minutes=5))
    halted = RunDir.load(tmp_path, RUN_ID).run["halted"]
    assert halted == {"reason": "the canary failed (app1)", "at": "2026-11-27T21:00:00+00:00"}


def test_the_lock_can_belong_to_another_live_process(tmp_path, live_holder):
    base = tmp_path / "elsewhere"
    owner = RunLock(base, HOSTS, run_id=RUN_ID).acquire(owner_pid=live_holder.pid)
    assert owner["pid"] == live_holder.pid and owner["pid_start"]
    with pytest.raises(LockHeld):
        RunLock(base, HOSTS).acquire()


# ---------------------------------------------------------------------------
# Paths from host names and run ids
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["run 1", "run\n1", "run\x001", "\trun", "run\r", ".hidden", "a/b", "a\\b", "..",
                                 "locks", ""])
def test_run_ids_that_cannot_name_a_folder_are_refused(tmp_path, bad):
    with pytest.raises(RunRecordError, match="cannot name a run directory"):
        RunDir(tmp_path, bad)
    with pytest.raises(RunRecordError, match="cannot name a run directory"):
        RunDir.load(tmp_path, bad)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", ["web 1", "web\n1", "web\x001", ".tmp-x", "../run", "..", "a\\b", "web\x7f"])
def test_host_names_that_cannot_name_a_file_are_refused(tmp_path, bad):
    run = started(tmp_path)
    for call in (lambda: run.record(bad, "preflight"), lambda: run.host(bad), lambda: run.archive_dir(bad),
                 lambda: run.keep_final(bad, {"format": 1})):
        with pytest.raises(RunRecordError, match="cannot name a host file"):
            call()
    with pytest.raises(RunRecordError, match="cannot name a host file"):
        RunDir(tmp_path, "other").start(dict(plan("other"), hosts=[{"host": bad, "wave": 0}]), HOSTS)


def test_paths_stay_inside_the_run_directory(tmp_path):
    base, outside = tmp_path / "runs", tmp_path / "outside"
    outside.mkdir()
    run = started(base)
    assert run.archive_dir("web2") == str(base / RUN_ID / "archive" / "web2")
    assert run.keep_final("web2", {"format": 1}) == str(base / RUN_ID / "archive" / "web2" / "final.json")
    assert run.final("web2") == {"format": 1} and run.final("web1") is None
    os.symlink(outside, base / RUN_ID / "archive" / "web1")  # a link planted in the archive
    with pytest.raises(RunRecordError, match="leads outside"):
        run.keep_final("web1", {"format": 1})
    os.symlink(outside, base / "20261127T220000Z-ffffff")  # a run directory that is a link to elsewhere
    with pytest.raises(RunRecordError, match="leads outside"):
        RunDir(base, "20261127T220000Z-ffffff")
    assert os.listdir(outside) == []
    with pytest.raises(RunRecordError, match="leads outside"):
        runrecord.path_under(base, RUN_ID, "archive", "web1", "final.json")
    with pytest.raises(RunRecordError, match="cannot name"):
        runrecord.path_under(base, RUN_ID, "..", "x")


@pytest.mark.parametrize("folder, perm", [("", 0o777), ("", 0o770), ("", 0o752), ("hosts", 0o757)])
def test_a_run_directory_others_may_write_to_is_refused(tmp_path, folder, perm):
    started(tmp_path)
    os.chmod(tmp_path / RUN_ID / folder, perm)
    with pytest.raises(RunRecordError, match=f"may be written by group or others \\(mode {perm:04o}\\)"):
        RunDir.load(tmp_path, RUN_ID)
    os.chmod(tmp_path / RUN_ID / folder, 0o750)
    assert RunDir.load(tmp_path, RUN_ID).host("db2")["phase"] == "pending"


# ---------------------------------------------------------------------------
# Writers in several processes
# ---------------------------------------------------------------------------

def _recorder(base, writer, count):
    run = RunDir.load(base, RUN_ID)
    for number in range(count):
        run.record("db2", "preflight", {"writer": writer, "n": number})


def test_concurrent_writers_keep_every_history_entry(tmp_path):
    started(tmp_path)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_recorder, args=(str(tmp_path), writer, 25)) for writer in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [writer.exitcode for writer in writers] == [0, 0, 0, 0]
    history = RunDir.load(tmp_path, RUN_ID).host("db2")["history"]
    assert len(history) == 101
    entries = [(entry["detail"]["writer"], entry["detail"]["n"]) for entry in history[1:]]
    assert sorted(entries) == [(writer, n) for writer in range(4) for n in range(25)]
    for writer in range(4):  # each writer's entries in the order it wrote them
        assert [n for w, n in entries if w == writer] == list(range(25))


STALLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from ansible_collections.patchpilot.fleet.plugins.module_utils import runrecord
    run = runrecord.RunDir.load(sys.argv[1], sys.argv[2])

    def stall(fd):  # the temporary file is written, not yet synced nor in place
        print("writing", flush=True)
        time.sleep(600)

    runrecord.os.fsync = stall
    if sys.argv[3] == "record":
        run.record("db2", "preflight", "never finished")
    else:  # a writer that does not go through RunDir (and its lock)
        runrecord.write_json(os.path.join(run.hosts_dir, "db2.json"), {"never": "finished"})
""")


def stalled_writer(base, how):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", STALLED_WRITER, str(base), RUN_ID, how],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def temporaries(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith(".tmp-"))


@pytest.mark.parametrize("how", ["record", "write_json"])
def test_a_killed_writer_leaves_a_temporary_that_the_next_open_removes(tmp_path, how):
    started(tmp_path)
    hosts = tmp_path / RUN_ID / "hosts"
    before = (hosts / "db2.json").read_text()
    proc = stalled_writer(tmp_path, how)
    try:
        assert len(temporaries(hosts)) == 1
        if how == "write_json":  # its writer is alive: the temporary is left alone
            opened = RunDir.load(tmp_path, RUN_ID)
            assert len(temporaries(hosts)) == 1 and opened.swept == []
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    (left,) = temporaries(hosts)
    reopened = RunDir.load(tmp_path, RUN_ID)
    assert temporaries(hosts) == [] and (hosts / "db2.json").read_text() == before
    assert reopened.swept == [f"hosts/{left}"]
    assert reopened.host("db2")["phase"] == "pending"


def test_replace_plan_keeps_the_runs_hosts_and_records_the_new_digest(tmp_path):
    run = started(tmp_path)
    replanned = dict(plan(), policy_digest="sha256:11",
                     hosts=[dict(h, wave=None) if h["host"] == "web2" else h for h in plan()["hosts"]])
    run.replace_plan(replanned)
    assert run.plan["policy_digest"] == "sha256:11" and run.run["policy_digest"] == "sha256:11"
    assert "web2" not in run.hosts()  # no longer planned: out of the run
    with pytest.raises(RunRecordError, match="hosts db1, web2 are not in run"):
        run.replace_plan(dict(plan(), hosts=[dict(h, wave=3) for h in plan()["hosts"]]))
    with pytest.raises(RunRecordError, match="must be of format 2"):
        run.replace_plan(dict(plan(), format=1))
    with pytest.raises(RunRecordError, match="made for run other"):
        run.replace_plan(plan("other"))
    run.finish("failed")
    with pytest.raises(RunRecordError, match="is failed: its plan stays as it was"):
        run.replace_plan(replanned)
