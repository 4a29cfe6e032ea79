"""report action: reads the store, writes the chosen formats privately, fails at a broken chain's record,
writes nothing in check mode, and never shows the store's address."""

from __future__ import annotations

import json
import sqlite3
import stat
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.patchpilot.fleet.plugins.action import report
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import Store
from support.history_fixture import records


def run(check_mode=False, **args):
    task = Task.load({"action": "patchpilot.fleet.report", "args": args, "check_mode": check_mode})
    plugin = report.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars={})


@pytest.fixture
def state(tmp_path):
    folder = tmp_path / "state"
    store = Store.sqlite(str(folder / "history.sqlite"))
    store.append(records())
    store.close()
    return folder


def test_the_reports_are_written_private(tmp_path, state):
    out = tmp_path / "reports" / "history"
    result = run(state_dir=str(state), output_dir=str(out), today="2026-12-05")
    assert not result.get("failed") and result["changed"] and result["chain"]["ok"]
    assert result["run_id"] == "run-2" and result["summary"]["compliance"] == 0.6667
    assert result["summary"]["failing_hosts"] == ["app1", "web2"]
    assert sorted(p.name for p in out.iterdir()) == sorted(result["paths"]) == [
        "hosts.csv", "inventory.csv", "junit.xml", "patchpilot.prom", "report.html", "report.json", "runs.csv",
        "updates.csv"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}
    assert json.loads((out / "report.json").read_text())["compliance"]["fleet"]["compliant"] == 4


def test_check_mode_writes_nothing(tmp_path, state):
    out = tmp_path / "out"
    result = run(check_mode=True, state_dir=str(state), output_dir=str(out), formats=["junit"])
    assert not result["changed"] and list(result["paths"]) == ["junit.xml"] and not out.exists()


def test_an_edited_record_fails_at_that_record(tmp_path, state):
    with sqlite3.connect(state / "history.sqlite") as db:
        db.execute("UPDATE records SET state = 'active' WHERE id = 21")
    db.close()
    result = run(state_dir=str(state), output_dir=str(tmp_path / "out"))
    assert result["failed"] and result["chain"]["broken_at"] == 21
    assert "the chain is broken at record 21: record 21 was changed after it was written" in result["msg"]
    assert (tmp_path / "out" / "report.html").exists()  # written all the same, saying where it breaks
    result = run(state_dir=str(state), output_dir=str(tmp_path / "out"), fail_on_broken_chain=False)
    assert not result.get("failed") and result["chain"]["broken_at"] == 21


def test_a_purge_keeps_the_chain(tmp_path, state):
    store = Store.sqlite(str(state / "history.sqlite"))
    assert store.purge("2026-11-21T00:00:00+00:00")["count"] > 0
    store.close()
    result = run(state_dir=str(state), output_dir=str(tmp_path / "out"))
    assert not result.get("failed") and result["chain"]["ok"] and result["chain"]["anchor"]["after_id"] > 0


def test_the_store_address_never_shows(tmp_path):
    secret = "postgresql://report:S3cr3t-pw@127.0.0.1:9/patchpilot?connect_timeout=2"
    with pytest.raises(AnsibleActionFail) as caught:
        run(store=secret, state_dir=str(tmp_path), output_dir=str(tmp_path / "out"))
    assert "S3cr3t-pw" not in str(caught.value) and str(caught.value).startswith("report: ")
    assert report._hide(f"cannot reach {secret}", secret) == "cannot reach <history store>"


@pytest.mark.parametrize("args, message", [
    ({"run": "nope"}, "report: run 'nope' is not in the store"),
    ({"today": "yesterday"}, "report: today: Invalid isoformat string"),
    ({"formats": ["pdf"]}, "value of formats must be one or more of"),
])
def test_bad_input_is_one_clear_error(tmp_path, state, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run(state_dir=str(state), output_dir=str(tmp_path / "out"), **args)


def test_syslog_events_are_sent(tmp_path, state):
    import socket  # pylint: disable=import-outside-toplevel
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        result = run(state_dir=str(state), output_dir=str(tmp_path / "out"), today="2026-12-05", formats=["json"],
                     syslog={"host": "127.0.0.1", "port": server.getsockname()[1], "hostname": "ctl1"})
        got = [server.recv(8192) for _count in range(result["syslog_sent"])]
    assert result["syslog_sent"] == 5 and got[0].startswith(b"<133>1 ") and b" ctl1 patchpilot " in got[0]
