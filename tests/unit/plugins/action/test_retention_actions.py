"""The retention actions: retention_select (read only), retention_record (run history), run_retention (run dirs)."""

from __future__ import annotations

import importlib
import json
import os
from datetime import datetime, timezone
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.module_utils import runrecord

NOW = "2026-12-06T12:00:00+00:00"
SCOPE = "hosts:web1"


def act(name, base, check_mode=False, **args):
    module = importlib.import_module(f"ansible_collections.patchpilot.fleet.plugins.action.{name}")
    args = dict({"now": NOW}, **args, base_dir=str(base))
    task = Task.load({"action": f"patchpilot.fleet.{name}", "args": {k: v for k, v in args.items() if v is not None}})
    task.check_mode = check_mode
    context = MagicMock()
    context.check_mode = check_mode
    plugin = module.ActionModule(task, MagicMock(), context, loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars={"inventory_hostname": "web1"})


def plan(run_id):
    return {"format": 2, "run_id": run_id, "settings": {}, "waves": [{"wave": 0, "hosts": ["web1"]}],
            "hosts": [{"host": "web1", "wave": 0, "packages": [], "removals": []}]}


def started(base, run_id, day, finish=True, scope=SCOPE, snapshot="package"):
    run_dir = runrecord.RunDir(str(base), run_id)
    run_dir.start(plan(run_id), scope, at=datetime(2026, 12, day, tzinfo=timezone.utc))
    archive = run_dir.archive_dir("web1")
    os.makedirs(archive)
    record = {"host": "web1", "run_id": run_id, "provider": snapshot, "taken_at": f"2026-12-0{day}T00:00:00+00:00",
              snapshot: {"vg": "vg0", "lv": "root", "snapshot": f"root-ppsnap-{run_id}"} if snapshot == "lvm" else {}}
    with open(os.path.join(archive, "snapshot.json"), "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    if finish:
        run_dir.finish("completed", at=datetime(2026, 12, day, 1, tzinfo=timezone.utc))
    return run_dir


@pytest.fixture
def base(tmp_path):
    base = tmp_path / "runs"
    started(base, "r1", 1, snapshot="lvm")
    started(base, "r2", 2)
    started(base, "r3", 3, finish=False)
    return base


def test_select_names_the_older_snapshots_and_their_steps(base):
    result = act("retention_select", base, run_id="r3", keep={"runs": 1, "days": None},
                 host_dirs=[{"path": "/var/cache/patchpilot/runs/r2", "mtime": 1.0}])
    assert [(s["run_id"], s["provider"], s["host_dir"]) for s in result["remove"]] == [
        ("r2", "package", "/var/cache/patchpilot/runs/r2"), ("r1", "lvm", None)]
    assert result["remove"][1]["lvm_argv"] == ["lvremove", "--force", "vg0/root-ppsnap-r1"]
    assert result["keep"] == [{"id": "r3", "reason": "the current run"}] and not result["changed"]


def test_select_turns_a_bad_rule_into_one_message(base):
    with pytest.raises(AnsibleActionFail, match="retention: snapshot.keep: set runs, days or both"):
        act("retention_select", base, run_id="r3", keep={"runs": None, "days": None})


def test_record_notes_the_removal_in_both_runs(base):
    removed = [{"run_id": "r2", "provider": "package", "reason": "x", "host_dir": "/var/cache/patchpilot/runs/r2"},
               {"run_id": "gone", "provider": None, "reason": "x", "host_dir": "/var/cache/patchpilot/runs/gone"}]
    result = act("retention_record", base, run_id="r3", removed=removed, kept=[{"id": "r3", "reason": "the current run"}])
    assert result["removed"] == ["r2", "gone"] and result["noted_in"] == ["r2"]
    run_dir = runrecord.RunDir.load(str(base), "r3")
    assert len(run_dir.host("web1")["history"]) == 1  # the current run's history stays as it was at done
    note = json.loads(open(os.path.join(run_dir.archive_dir("web1"), "retention.json"), encoding="utf-8").read())
    assert [s["run_id"] for s in note["removed"]] == ["r2", "gone"] and note["error"] is None
    old = runrecord.RunDir.load(str(base), "r2").host("web1")["history"][-1]["detail"]["retention"]
    assert old["snapshot_removed"] and old["by_run"] == "r3" and old["provider"] == "package"


def test_run_retention_prunes_finished_runs_of_the_scope(base):
    started(base, "other", 1, scope="hosts:db1")
    assert act("run_retention", base, check_mode=True, run_id="r3", keep={"runs": 1})["removed"] == [
        {"id": "r2", "reason": "not one of the newest 1 runs"}, {"id": "r1", "reason": "not one of the newest 1 runs"}]
    assert (base / "r1").is_dir() and not (base / "r3" / "retention.json").exists()
    result = act("run_retention", base, run_id="r3", keep={"runs": 1})
    assert result["changed"] and sorted(p.name for p in base.iterdir()) == ["other", "r3"]
    assert [r["id"] for r in json.loads((base / "r3" / "retention.json").read_text())["removed"]] == ["r2", "r1"]


def test_record_notes_a_failed_retention(base):
    act("retention_record", base, run_id="r3", error="lvremove failed")
    run_dir = runrecord.RunDir.load(str(base), "r3")
    note = json.loads(open(os.path.join(run_dir.archive_dir("web1"), "retention.json"), encoding="utf-8").read())
    assert note["error"] == "lvremove failed" and note["removed"] == []


def test_the_summary_says_what_retention_removed(base):
    act("retention_record", base, run_id="r3", removed=[{"run_id": "r2", "provider": "package"}])
    run_dir = runrecord.RunDir.load(str(base), "r3")
    run_dir.record("web1", "done")
    act("run_finish", base, run_id="r3")
    summary = json.loads((base / "r3" / "summary.json").read_text(encoding="utf-8"))
    assert summary["retention"] == {"web1": {"removed": ["r2"], "error": None}}
