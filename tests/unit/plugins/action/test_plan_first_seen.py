"""The plan action reads first-seen dates from the history store (approvals.auto.after_days counts from them)."""

from __future__ import annotations

import json
from unittest.mock import MagicMock

from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import plan as action
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update

POLICY = """\
version: 2
reboot: never
approvals:
  auto:
    classifications: [bugfix]
    severities: [critical, high, medium, low]
    after_days: 3
"""


def run(tmp_path, **args):
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    update = make_update(name="curl", installed_version="8.0-1", candidate_version="8.1-1", arch="amd64",
                         classification="bugfix", backend="apt").as_dict()
    host = {"scan_asset": {"asset": {"hostname": "web01", "os_family": "Debian", "os_distribution": "Debian",
                                     "os_version": "12", "os_codename": "bookworm", "package_manager": "apt"}},
            "scan_updates": {"updates": [update], "index": {"stale": False, "errors": []}}}
    args = dict(policy=str(tmp_path / "policy.yml"), output_dir=str(tmp_path / "plans"), now="2026-12-06T12:00:00+00:00",
                first_seen_file=str(tmp_path / "state" / "first_seen.json"), **args)
    task = Task.load({"action": "patchpilot.fleet.plan", "args": args})
    plugin = action.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    result = plugin.run(task_vars={"hostvars": {"web01": host}, "ansible_play_hosts_all": ["web01"],
                                   "groups": {"all": ["web01"]}})
    plan = json.loads((tmp_path / "plans" / "latest.json").read_text(encoding="utf-8"))
    entry = next(e for e in plan["hosts"] if e["host"] == "web01")
    return result, entry


def test_the_plan_counts_after_days_from_the_stores_first_seen_date(tmp_path):
    store = open_store(None, str(tmp_path / "state"))
    store.merge_first_seen({"web01|curl|amd64|8.1-1": "2026-11-26"})
    store.close()
    result, entry = run(tmp_path)
    assert [p["approved_by"] for p in entry["packages"]] == ["auto (bugfix, low, first seen 10 days ago)"]
    assert not [w for w in result["warnings"] if "history store" in w]


def test_without_a_store_the_json_file_with_one_warning(tmp_path):
    (tmp_path / "state").mkdir(mode=0o700)
    (tmp_path / "state" / "first_seen.json").write_text(json.dumps({"web01|curl|amd64|8.1-1": "2026-11-26"}))
    result, entry = run(tmp_path, history_store="postgresql://pp:s3cret@127.0.0.1:1/pp")
    assert [p["approved_by"] for p in entry["packages"]] == ["auto (bugfix, low, first seen 10 days ago)"]
    assert len([w for w in result["warnings"] if "history store unavailable" in w]) == 1
    assert "s3cret" not in json.dumps(result)
