"""The scan_report action keeps first-seen dates in the history store (not first_seen.json); when the store
cannot be opened the scan still writes its report, from and to the JSON file, with one warning."""

from __future__ import annotations

import json
from unittest.mock import MagicMock

from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import scan_report as action
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import make_update


def host_vars(*names):
    updates = [make_update(name=n, installed_version="1.0-1", candidate_version="1.0-2", arch="all",
                           classification="bugfix", backend="apt").as_dict() for n in names]
    return {"scan_asset": {"asset": {"hostname": "web01", "os_family": "Debian", "os_distribution": "Debian",
                                     "os_version": "12", "os_codename": "bookworm"}},
            "scan_updates": {"updates": updates, "index": {"stale": False, "errors": []}}}


def run(tmp_path, today, names, **args):
    args = dict(output_dir=str(tmp_path / "reports" / "scan"), first_seen_file=str(tmp_path / "state" / "first_seen.json"),
                today=today, **args)
    task = Task.load({"action": "patchpilot.fleet.scan_report", "args": args})
    plugin = action.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars={"hostvars": {"web01": host_vars(*names)}, "ansible_play_hosts_all": ["web01"]})


def test_first_seen_dates_live_in_the_store_across_scans(tmp_path):
    first = run(tmp_path, "2026-11-01", ["curl"])
    assert "first_seen.json" not in first["paths"] and "warnings" not in first and first["first_seen"]["store"]
    later = run(tmp_path, "2026-11-20", ["curl", "zlib1g"])
    assert {u["name"]: u["first_seen"] for u in later["top"]} == {"curl": "2026-11-01", "zlib1g": "2026-11-20"}
    assert not (tmp_path / "state" / "first_seen.json").exists()
    assert not (tmp_path / "reports" / "scan" / "first_seen.json").exists()
    store = open_store(None, str(tmp_path / "state"))
    assert store.first_seen() == {"web01|curl|all|1.0-2": "2026-11-01", "web01|zlib1g|all|1.0-2": "2026-11-20"}
    store.close()


def test_an_old_json_file_is_imported_and_its_dates_used(tmp_path):
    (tmp_path / "state").mkdir(mode=0o700)
    (tmp_path / "state" / "first_seen.json").write_text(json.dumps({"web01|curl|all|1.0-2": "2026-10-01"}))
    result = run(tmp_path, "2026-11-20", ["curl"])
    assert result["top"][0]["first_seen"] == "2026-10-01"
    assert result["first_seen"]["imported"] == {str(tmp_path / "state" / "first_seen.json"): 1}
    assert (tmp_path / "state" / "first_seen.json.imported").exists()


def test_a_store_that_cannot_be_opened_leaves_the_scan_working_with_one_warning(tmp_path):
    run(tmp_path, "2026-11-01", ["curl"], history_store="postgresql://pp:s3cret@127.0.0.1:1/pp")
    result = run(tmp_path, "2026-11-20", ["curl"], history_store="postgresql://pp:s3cret@127.0.0.1:1/pp")
    assert result["top"][0]["first_seen"] == "2026-11-01" and not result["first_seen"]["store"]  # the JSON file
    assert len(result["warnings"]) == 1 and "history store unavailable" in result["warnings"][0]
    assert "s3cret" not in json.dumps(result)
    assert json.loads((tmp_path / "state" / "first_seen.json").read_text()) == {"web01|curl|all|1.0-2": "2026-11-01"}
