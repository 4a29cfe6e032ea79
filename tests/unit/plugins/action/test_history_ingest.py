"""The history_ingest action: a run directory or a scan report into the store, with the controller's context."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import history_ingest
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir
from ansible_collections.patchpilot.fleet.plugins.plugin_utils import history

RUN_ID = "20261201T100000Z-abc123"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
SECRET_URL = "postgresql://pp:very-secret-pw@127.0.0.1:9/h"


def act(task_vars=None, check=False, **args):
    task = Task.load({"action": "patchpilot.fleet.history_ingest", "args": args})
    task.check_mode = check
    templar = MagicMock()
    templar.template.side_effect = lambda value: value
    plugin = history_ingest.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=templar,
                                         shared_loader_obj=None)
    return plugin.run(task_vars=task_vars or {})


@pytest.fixture
def run_dir(tmp_path):
    plan = {"format": 2, "run_id": RUN_ID, "created": T0.isoformat(), "change_ticket": "CHG-3",
            "approval": {"by": "alice", "at": T0.isoformat()}, "waves": [{"wave": 1, "hosts": ["web01"]}],
            "hosts": [{"host": "web01", "status": "rollout", "wave": 1, "packages": [{"name": "openssl", "version": "3.0-2"}]}]}
    run = RunDir(str(tmp_path / "runs"), RUN_ID)
    run.start(plan, ["web01"], at=T0)
    run.record("web01", "done", {"installed": {"openssl": "3.0-2"}}, at=T0)
    run.finish("completed", at=T0)
    return run.path


HOSTVARS = {"web01": {"scan_asset": {"asset": {"hostname": "web01", "os_distribution": "Debian", "os_version": "12"}},
                      "patchpilot_asset": {"location": "dc-west"}}}


def test_a_run_goes_to_the_embedded_store_with_its_context(tmp_path, run_dir):
    variables = {"hostvars": HOSTVARS, "awx_job_id": 12, "awx_user_name": "carol", "tower_project_revision": "f" * 40,
                 "ansible_inventory_sources": ["/inv/lab.yml"]}
    result = act(variables, state_dir=str(tmp_path), run_dir=run_dir)
    assert result["store_ok"] is True and result["appended"] == result["records"] > 0 and result["changed"]
    assert result["store"] == str(tmp_path / "history.sqlite") and "warnings" not in result
    store = open_store(None, str(tmp_path))
    [run] = store.records("kind = 'run'")
    assert (run["data"]["user"], run["data"]["awx_job_id"], run["data"]["approved_by"]) == ("carol", "12", "alice")
    assert run["data"]["inventory"] == ["/inv/lab.yml"] and run["data"]["change_ticket"] == "CHG-3"
    [asset] = store.records("kind = 'asset'")
    assert asset["data"]["location"] == "dc-west"
    store.close()
    again = act(variables, state_dir=str(tmp_path), run_id=RUN_ID, base_dir=str(tmp_path / "runs"))
    assert again["appended"] == 0 and again["changed"] is False


def test_an_unavailable_store_warns_loudly_and_never_shows_its_url(tmp_path, run_dir):
    result = act({"patchpilot_history_store": SECRET_URL}, state_dir=str(tmp_path), run_dir=run_dir)
    assert result["store_ok"] is False and result["buffered"] == result["records"]
    [warning] = result["warnings"]
    assert warning.startswith(history.UNAVAILABLE)
    assert "very-secret-pw" not in json.dumps(result, default=str)
    assert (tmp_path / "history-buffer.jsonl").is_file()


def test_check_mode_counts_and_writes_nothing(tmp_path, run_dir):
    result = act(check=True, state_dir=str(tmp_path), run_dir=run_dir)
    assert result["records"] > 0 and result["appended"] == 0 and not (tmp_path / "history.sqlite").exists()


def test_a_scan_report_is_fed(tmp_path):
    scan = tmp_path / "scan"
    scan.mkdir()
    assets = [{"host": "web01", "status": "scanned", "hostname": "web01", "os_distribution": "Debian", "os_version": "12"}]
    (scan / "assets.json").write_text(json.dumps({"assets": assets}))
    (scan / "updates.json").write_text(json.dumps({"updates": [{"host": "web01", "name": "curl", "candidate_version": "8.0-2"}]}))
    result = act(state_dir=str(tmp_path), scan_dir=str(scan))
    assert result["appended"] == 2 and result["source"] == str(scan)


@pytest.mark.parametrize("args, message", [
    ({}, "needs run_dir"),
    ({"run_id": RUN_ID}, "needs run_dir"),
    ({"run_dir": "/nonexistent/run"}, "no run record"),
    ({"scan_dir": "/nonexistent/scan"}, "unreadable scan report"),
])
def test_bad_arguments_are_one_clear_error(tmp_path, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        act(state_dir=str(tmp_path), **args)


def test_the_project_commit_is_the_checkouts_head(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert history.context({}, str(tmp_path / "patch.yml"))["project_commit"] == head
    assert history.project_commit(str(tmp_path / "missing")) is None
    assert history.context({"awx_project_revision": "abc"}, "/nonexistent/patch.yml")["project_commit"] == "abc"


def test_the_policy_file_is_named_and_an_inline_policy_is_not():
    assert history.context({"patchpilot_policy": "/srv/policies/prod.yml"}, None)["policy_file"] == \
        "/srv/policies/prod.yml"
    assert history.context({"patchpilot_policy": {"format": 1}}, None)["policy_file"] is None


def test_without_state_dir_the_state_directory_is_found_as_state_dirs_finds_it(tmp_path, run_dir, monkeypatch):
    monkeypatch.setenv("PATCHPILOT_STATE_DIR", str(tmp_path / "from-env"))
    result = act(run_dir=run_dir)
    assert result["store"] == str(tmp_path / "from-env" / "history.sqlite") and result["appended"] > 0
    assert (tmp_path / "from-env" / "history.sqlite").is_file()
