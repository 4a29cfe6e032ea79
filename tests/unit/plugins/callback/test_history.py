"""The history callback: notes unreachable hosts and the run directories the run_* tasks named,
and feeds those runs at the playbook's end; it never raises."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from ansible_collections.patchpilot.fleet.plugins.callback.history import CallbackModule
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import open_store
from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import RunDir

RUN_ID = "20261201T100000Z-abc123"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


class Display:
    def __init__(self):
        self.warnings = []

    def warning(self, text):
        self.warnings.append(text)


def fake(action, answer=None, host="localhost"):
    return SimpleNamespace(_task=SimpleNamespace(resolved_action=action, action=action.rsplit(".", 1)[-1]),
                           _result=answer or {}, _host=SimpleNamespace(get_name=lambda: host))


@pytest.fixture
def state(tmp_path):
    """A state directory with a run that died before its Summary play: web01 staged, db01 pending."""
    plan = {"format": 2, "run_id": RUN_ID, "created": T0.isoformat(), "waves": [{"wave": 1, "hosts": ["web01", "db01"]}],
            "hosts": [{"host": h, "status": "rollout", "wave": 1, "packages": [{"name": "openssl", "version": "3.0-2"}]}
                      for h in ("web01", "db01")]}
    run = RunDir(str(tmp_path / "runs"), RUN_ID)
    run.start(plan, ["web01", "db01"], at=T0)
    run.record("web01", "staged", None, at=T0)
    return tmp_path


def callback(store=""):
    plugin = CallbackModule()
    plugin._display = Display()
    plugin._plugin_options = {"store": store}
    return plugin


def play_through(plugin, state):
    plugin.v2_runner_on_ok(fake("patchpilot.fleet.state_dirs", {"state_dir": str(state)}))
    plugin.v2_runner_on_ok(fake("patchpilot.fleet.run_start", {"run_dir": str(state / "runs" / RUN_ID)}))
    plugin.v2_runner_on_ok(fake("patchpilot.fleet.run_host_record", {"run_dir": str(state / "runs" / RUN_ID)}))
    plugin.v2_runner_on_ok(fake("ansible.builtin.debug", {"run_dir": "/elsewhere"}))
    plugin.v2_runner_on_unreachable(fake("patchpilot.fleet.run_host_record", {"unreachable": True}, host="db01"))
    plugin.v2_playbook_on_stats(None)


def test_a_run_that_died_early_is_recorded_with_its_unreachable_host(state):
    plugin = callback()
    play_through(plugin, state)
    assert plugin.run_dirs == [str(state / "runs" / RUN_ID)] and set(plugin.unreachable) == {"db01"}
    assert plugin._display.warnings == []
    store = open_store(None, str(state))
    hosts = {r["host"]: r["state"] for r in store.records("kind = 'host'")}
    assert hosts == {"web01": "not_started", "db01": "unreachable"}
    assert [r["state"] for r in store.records("kind = 'run'")] == ["running"]
    count = len(store.records())
    store.close()
    play_through(callback(), state)  # the same run again: nothing new
    store = open_store(None, str(state))
    assert len(store.records()) == count
    store.close()


def test_a_store_that_fails_warns_once_and_buffers(state):
    plugin = callback(store="postgresql://pp:hunter2-secret@127.0.0.1:9/h")
    play_through(plugin, state)
    [warning] = plugin._display.warnings
    assert warning.startswith("HISTORY STORE UNAVAILABLE") and "hunter2" not in warning, warning
    assert (state / "history-buffer.jsonl").is_file()


def test_a_broken_run_directory_is_a_warning_never_an_exception(tmp_path):
    plugin = callback()
    plugin.v2_runner_on_ok(fake("patchpilot.fleet.run_open", {"run_dir": str(tmp_path / "gone")}))
    plugin.v2_runner_on_ok(SimpleNamespace())  # not even a result
    plugin.v2_runner_on_unreachable(SimpleNamespace())
    plugin.v2_playbook_on_stats(None)
    [warning] = plugin._display.warnings
    assert "not recorded" in warning


def test_nothing_touched_nothing_fed(tmp_path):
    plugin = callback()
    plugin.v2_playbook_on_stats(None)
    assert plugin.fed == [] and plugin._display.warnings == []


def test_check_mode_records_nothing(state, monkeypatch):
    from ansible import context

    monkeypatch.setattr(context, "CLIARGS", {"check": True})
    plugin = callback()
    play_through(plugin, state)
    assert plugin.fed == [] and not (state / "history.sqlite").exists()
