"""Retention: the keep rule, the verdict (select) and what a host and the controller remove."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.retention import (
    DEFAULT_KEEP,
    RetentionError,
    controller_plan,
    host_plan,
    keep_rule,
    prune_run_dirs,
    read_runs,
    select,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def item(run_id, days, finished=True, locked=False):
    return {"id": run_id, "time": ago(days), "finished": finished, "locked": locked}


def removed(verdict):
    return [entry["id"] for entry in verdict["remove"]]


# -- the keep rule ---------------------------------------------------------

def test_the_default_rule_keeps_three_runs():
    assert keep_rule(None) == DEFAULT_KEEP == {"runs": 3, "days": None}
    assert keep_rule({"days": 7}) == {"runs": None, "days": 7}


@pytest.mark.parametrize(("value", "message"), [
    ({}, "set runs, days or both"),
    ({"runs": None, "days": None}, "set runs, days or both"),
    ({"runs": 0}, "snapshot.keep.runs: expected a whole number from 1 to 1000, got 0"),
    ({"days": True}, "snapshot.keep.days: expected a whole number"),
    ({"runs": "3"}, "snapshot.keep.runs"),
    ({"weeks": 2}, "unknown keys weeks"),
    (3, "expected a mapping"),
])
def test_a_bad_rule_is_one_clear_message(value, message):
    with pytest.raises(RetentionError, match=message):
        keep_rule(value)


# -- select ----------------------------------------------------------------

def test_runs_one_keeps_the_current_run_only():
    items = [item("r1", 3), item("r2", 2), item("r3", 1)]
    verdict = select(items, {"runs": 1}, NOW, current="r3")
    assert removed(verdict) == ["r2", "r1"]
    assert verdict["keep"] == [{"id": "r3", "reason": "the current run"}]
    assert verdict["remove"][0]["reason"] == "not one of the newest 1 runs"


def test_the_current_run_counts_first_even_with_an_older_time():
    verdict = select([item("old", 9), item("cur", 10)], {"runs": 1}, NOW, current="cur")
    assert removed(verdict) == ["old"]


def test_runs_count_the_newest_by_time_not_by_name():
    items = [item("b", 5), item("a", 1), item("c", 3), item("cur", 0)]
    assert removed(select(items, {"runs": 2}, NOW, current="cur")) == ["c", "b"]


def test_days_keep_what_is_younger():
    items = [item("r1", 10), item("r2", 6.9), item("cur", 0)]
    assert removed(select(items, {"days": 7}, NOW, current="cur")) == ["r1"]


def test_either_rule_keeps_a_snapshot():
    items = [item("r1", 20), item("r2", 10), item("r3", 2), item("cur", 0)]
    verdict = select(items, {"runs": 2, "days": 5}, NOW, current="cur")
    assert removed(verdict) == ["r2", "r1"]
    assert {e["id"]: e["reason"] for e in verdict["keep"]} == {
        "cur": "the current run", "r3": "one of the newest 2 runs"}
    assert verdict["remove"][0]["reason"] == "not one of the newest 2 runs and older than 5 days"


def test_unfinished_locked_and_timeless_items_are_never_removed():
    items = [item("running", 30, finished=False), item("locked", 30, locked=True),
             {"id": "notime", "time": None, "finished": True}, item("gone", 30), item("cur", 0)]
    verdict = select(items, {"runs": 1}, NOW, current="cur")
    assert removed(verdict) == ["gone"]
    reasons = {e["id"]: e["reason"] for e in verdict["keep"]}
    assert reasons["running"] == "its run is not finished"
    assert reasons["locked"] == "its run's lock is held"
    assert reasons["notime"] == "its time is unknown"


def test_times_may_be_epoch_seconds_or_naive_utc():
    items = [{"id": "a", "time": (NOW - timedelta(days=3)).timestamp(), "finished": True},
             {"id": "b", "time": "2026-12-05T12:00:00", "finished": True}]
    assert removed(select(items, {"days": 2}, NOW)) == ["a"]


def test_an_item_without_an_id_is_refused():
    with pytest.raises(RetentionError, match="needs an id"):
        select([{"time": ago(1)}], {"runs": 1}, NOW)


# -- gathering and what a host removes ------------------------------------

def make_run(base, run_id, days, state="completed", scope="s1", snapshot=None, host="web01"):
    path = base / run_id
    (path / "archive" / host).mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"format": 1, "run_id": run_id, "state": state, "started": ago(days),
                                               "scope_key": scope}))
    if snapshot is not None:
        record = {"format": 1, "host": host, "run_id": run_id, "taken_at": ago(days), **snapshot}
        (path / "archive" / host / "snapshot.json").write_text(json.dumps(record))
    return path


def test_read_runs_finds_runs_locks_and_the_hosts_snapshot(tmp_path):
    make_run(tmp_path, "r1", 3, snapshot={"provider": "package", "package": {}})
    make_run(tmp_path, "r2", 2, state="running")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "abc.lock").write_text(json.dumps({"run_id": "r2", "pid": 1}))
    (tmp_path / "notarun").mkdir()
    runs = {run["id"]: run for run in read_runs(str(tmp_path), "web01")}
    assert sorted(runs) == ["r1", "r2"]
    assert runs["r1"]["finished"] and not runs["r1"]["locked"] and runs["r1"]["snapshot"]["provider"] == "package"
    assert not runs["r2"]["finished"] and runs["r2"]["locked"] and runs["r2"]["snapshot"] is None
    assert read_runs(str(tmp_path / "missing")) == []


def test_a_hosts_plan_names_each_providers_removal_step(tmp_path):
    make_run(tmp_path, "r1", 4, snapshot={"provider": "btrfs", "btrfs": {
        "subvolume": "/srv/data", "snapshot": "/srv/.patchpilot-snapshots/data-r1"}})
    make_run(tmp_path, "r2", 3, snapshot={"provider": "lvm", "lvm": {"vg": "vg0", "lv": "root",
                                                                     "snapshot": "root-ppsnap-r2"}})
    make_run(tmp_path, "r3", 2, snapshot={"provider": "aws_ebs", "aws_ebs": {
        "region": "us-east-1", "endpoint_url": None, "volumes": [{"snapshot_id": "snap-0123456789abcdef0"}]}})
    make_run(tmp_path, "r4", 1, snapshot={"provider": "package", "package": {"debs": []}})
    make_run(tmp_path, "cur", 0, state="running", snapshot={"provider": "package", "package": {"debs": []}})
    dirs = [{"path": "/var/cache/patchpilot/runs/r4", "mtime": 1}, {"path": "/var/cache/patchpilot/runs/cur"},
            {"path": "/var/cache/patchpilot/runs/foreign", "mtime": (NOW - timedelta(days=90)).timestamp()}]
    result = host_plan(read_runs(str(tmp_path), "web01"), dirs, {"runs": 1}, NOW, "cur")
    steps = {step["run_id"]: step for step in result["remove"]}
    assert list(steps) == ["r4", "r3", "r2", "r1"]
    assert steps["r4"]["host_dir"] == "/var/cache/patchpilot/runs/r4" and steps["r4"]["provider"] == "package"
    assert steps["r3"]["aws_ebs"] == {"region": "us-east-1", "endpoint_url": None,
                                      "snapshot_ids": ["snap-0123456789abcdef0"]}
    assert steps["r2"]["lvm_argv"] == ["lvremove", "--force", "vg0/root-ppsnap-r2"]
    assert steps["r1"]["btrfs_argv"] == [
        ["btrfs", "property", "set", "-ts", "/srv/.patchpilot-snapshots/data-r1", "ro", "false"],
        ["btrfs", "subvolume", "delete", "/srv/.patchpilot-snapshots/data-r1"]]
    assert steps["r1"]["host_dir"] is None and steps["r1"]["lvm_argv"] is None
    kept = {entry["id"]: entry["reason"] for entry in result["keep"]}
    assert kept == {"cur": "the current run", "foreign": "its run is not finished"}


@pytest.mark.parametrize(("snapshot", "message"), [
    ({"provider": "btrfs", "btrfs": {"snapshot": "relative/data-r1"}}, "not this run's absolute path"),
    ({"provider": "btrfs", "btrfs": {"snapshot": "/srv/data"}}, "not this run's absolute path"),
    ({"provider": "lvm", "lvm": {"vg": "vg0", "lv": "root", "snapshot": "root"}}, "origin's own name"),
    ({"provider": "aws_ebs", "aws_ebs": {"region": "us-east-1", "volumes": [{"snapshot_id": "vol-1"}]}},
     "needs a region and snapshot ids"),
])
def test_a_record_that_cannot_be_removed_safely_is_refused(tmp_path, snapshot, message):
    make_run(tmp_path, "r1", 3, snapshot=snapshot)
    make_run(tmp_path, "cur", 0, state="running", snapshot={"provider": "none", "none": {}})
    with pytest.raises(RetentionError, match=message):
        host_plan(read_runs(str(tmp_path), "web01"), [], {"runs": 1}, NOW, "cur")


def test_a_host_folder_outside_the_runs_folder_is_refused():
    with pytest.raises(RetentionError, match="is not a folder of /var/cache/patchpilot/runs"):
        host_plan([], [{"path": "/etc"}], {"runs": 1}, NOW, "cur")


# -- the controller's run archives ----------------------------------------

def test_the_controller_prunes_finished_runs_of_its_scope_only(tmp_path):
    make_run(tmp_path, "r1", 5)
    make_run(tmp_path, "r2", 4, state="aborted")
    make_run(tmp_path, "r3", 3, state="running")
    make_run(tmp_path, "other", 9, scope="s2")
    make_run(tmp_path, "held", 8)
    make_run(tmp_path, "cur", 0, state="running")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "x.lock").write_text(json.dumps({"run_id": "held"}))
    verdict = controller_plan(read_runs(str(tmp_path)), {"runs": 1}, NOW, "cur")
    assert removed(verdict) == ["r2", "r1"]
    assert prune_run_dirs(str(tmp_path), removed(verdict), check_mode=True) == ["r2", "r1"]
    assert (tmp_path / "r1").is_dir()
    assert prune_run_dirs(str(tmp_path), removed(verdict) + ["r3", "held", "nosuch"]) == ["r2", "r1"]
    assert sorted(os.listdir(tmp_path)) == ["cur", "held", "locks", "other", "r3"]


def test_the_controller_needs_the_current_run(tmp_path):
    with pytest.raises(RetentionError, match="run cur: not found"):
        controller_plan(read_runs(str(tmp_path)), {"runs": 1}, NOW, "cur")


def test_recorded_sums_up_the_hosts_notes(tmp_path):
    from ansible_collections.patchpilot.fleet.plugins.module_utils.retention import read_note, recorded

    (tmp_path / "retention.json").write_text(json.dumps({"removed": [{"run_id": "r1"}, {"run_id": "r2"}],
                                                         "error": None}))
    notes = {"web1": read_note(str(tmp_path)), "web2": {"removed": [], "error": "lvremove failed"},
             "web3": read_note(str(tmp_path / "nothing"))}
    assert recorded(notes) == {"web1": {"removed": ["r1", "r2"], "error": None},
                               "web2": {"removed": [], "error": "lvremove failed"}}


def test_a_snapshot_removed_before_is_not_removed_again(tmp_path):
    path = make_run(tmp_path, "r1", 3, snapshot={"provider": "lvm", "lvm": {"vg": "vg0", "lv": "root",
                                                                            "snapshot": "root-ppsnap-r1"}})
    make_run(tmp_path, "r2", 2, snapshot={"provider": "none", "none": {}})
    make_run(tmp_path, "cur", 0, state="running", snapshot={"provider": "none", "none": {}})
    (path / "hosts").mkdir()
    (path / "hosts" / "web01.json").write_text(json.dumps({"host": "web01", "phase": "done", "history": [
        {"phase": "done", "detail": {"retention": {"snapshot_removed": True, "by_run": "r2"}}}]}))
    runs = read_runs(str(tmp_path), "web01")
    assert [run["snapshot_removed"] for run in runs] == [False, True, False]
    result = host_plan(runs, [], {"runs": 1}, NOW, "cur")
    assert [step["run_id"] for step in result["remove"]] == ["r2"]
    # its host folder, still there, goes; nothing else of it is run again
    result = host_plan(runs, [{"path": "/var/cache/patchpilot/runs/r1", "mtime": 1}], {"runs": 1}, NOW, "cur")
    step = {s["run_id"]: s for s in result["remove"]}["r1"]
    assert step["host_dir"] == "/var/cache/patchpilot/runs/r1" and step["lvm_argv"] is None


def test_a_host_folder_no_run_can_have_is_never_touched(tmp_path):
    make_run(tmp_path, "cur", 0, state="running", snapshot={"provider": "none", "none": {}})
    dirs = [{"path": "/var/cache/patchpilot/runs/..", "mtime": 1}, {"path": "/var/cache/patchpilot/runs/.x"},
            {"path": "/var/cache/patchpilot/runs/locks"}]
    result = host_plan(read_runs(str(tmp_path), "web01"), dirs, {"runs": 1}, NOW, "cur")
    assert result == {"remove": [], "keep": [{"id": "cur", "reason": "the current run"}]}
