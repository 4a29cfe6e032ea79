"""windows_missing_updates action: runs the win_updates action in search mode, returns update records.

Two layers, both without a Windows host:

* the ansible.windows.win_updates action replaced by a stub returning a result in its
  documented shape (tests/unit/plugins/module_utils/backends/fixtures/windows/);
* the real ansible.windows.win_updates action, with only ``_execute_module`` replaced by a
  replay of what its PowerShell module answers (fixtures/win_updates-module-protocol-*.json),
  so the hand-over between the two action plugins is tested as it runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible_collections.ansible.windows.plugins.action import win_updates as windows_win_updates

from ansible_collections.patchpilot.fleet.plugins.action import windows_missing_updates

HERE = Path(__file__).resolve().parent
PROTOCOL = HERE / "fixtures"
RESULTS = HERE.parent / "module_utils" / "backends" / "fixtures" / "windows"


def load(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data.pop("_source")
    return data


def make_plugin(args=None, check_mode=False, inner=None):
    """Our action for a task with args; inner(task) builds the win_updates action it gets."""
    task = Task.load({"action": "patchpilot.fleet.windows_missing_updates", "args": args or {}})
    task.check_mode = check_mode
    connection = MagicMock()
    connection._shell.tmpdir = None  # pylint: disable=protected-access
    plugin = windows_missing_updates.ActionModule(task, connection, MagicMock(), loader=None, templar=None,
                                                  shared_loader_obj=None)
    loader = MagicMock()
    built = {}

    def get(name, **kwargs):
        assert name == "ansible.windows.win_updates"
        built["task"] = kwargs["task"]
        built["action"] = inner(kwargs) if inner else None
        return built["action"]

    loader.action_loader.get.side_effect = get
    plugin._shared_loader_obj = loader  # pylint: disable=protected-access
    return plugin, built


def stub_returning(result):
    def build(_kwargs):
        action = MagicMock()
        action.run.return_value = result
        return action
    return build


def record(name, candidate, classification, label, suite, arch=None):
    return {
        "name": name, "installed_version": None, "candidate_version": candidate, "arch": arch,
        "source": {"repository": None, "origin": "Microsoft", "label": label, "suite": suite},
        "classification": classification, "severity": None, "advisories": [name], "cves": [],
        "reboot": None, "first_seen": None, "released": None, "effect": "upgrade", "backend": "windows",
    }


SERVER_2022 = [
    record("KB2267602", "1.421.1183.0", "other", "Definition Updates", "Microsoft Defender Antivirus"),
    record("KB4052623", "4.18.24090.11", "bugfix", "Critical Updates", "Microsoft Defender Antivirus"),
    record("KB5045086", "KB5045086", "bugfix", "Updates", "Microsoft Server operating system-21H2", arch="x64"),
    record("KB5046616", "KB5046616", "security", "Security Updates", "Microsoft Server operating system-21H2",
           arch="x64"),
]
SERVER_2022_SUMMARY = {"total": 4, "upgrade": 4, "new_dependency": 0, "removal": 0, "kept_back": 0,
                       "security": 1, "bugfix": 2, "enhancement": 0, "other": 1, "third_party": 0}


# --- against the documented result shape ------------------------------------------------

def test_searches_and_normalises():
    plugin, built = make_plugin({"reject_list": ["KB890830"]},
                                inner=stub_returning(load(RESULTS / "win_updates-searched-server2022.json")))
    result = plugin.run(task_vars={"inventory_hostname": "win01"})
    assert result == {"changed": False, "backend": "windows", "updates": SERVER_2022, "summary": SERVER_2022_SUMMARY,
                      "reboot_required": False, "filtered_count": 2}
    assert built["task"].args == {"category_names": ["*"], "reject_list": ["KB890830"], "skip_optional": False,
                                  "server_selection": "default", "state": "searched", "reboot": False}
    built["action"].run.assert_called_once_with(task_vars={"inventory_hostname": "win01"})


def test_options_pass_through_and_the_search_never_installs():
    args = {"category_names": ["Security Updates", "Critical Updates"], "accept_list": ["KB50.*"],
            "reject_list": ["KB890830"], "skip_optional": True, "server_selection": "managed_server"}
    plugin, built = make_plugin(args, inner=stub_returning({"changed": False, "updates": {}, "filtered_updates": {}}))
    result = plugin.run(task_vars={})
    assert built["task"].args == dict(args, state="searched", reboot=False)
    assert result["updates"] == [] and result["summary"]["total"] == 0 and result["filtered_count"] == 0


def test_pending_reboot_is_reported():
    plugin, _built = make_plugin(inner=stub_returning(load(RESULTS / "win_updates-searched-win11.json")))
    result = plugin.run(task_vars={})
    assert result["reboot_required"] is True
    assert [u["name"] for u in result["updates"]] == ["Intel - System", "KB5044284", "KB5046633", "KB890830"]


def test_check_mode_searches_too():
    plugin, built = make_plugin(check_mode=True,
                                inner=stub_returning(load(RESULTS / "win_updates-searched-server2022.json")))
    result = plugin.run(task_vars={})
    assert result["updates"] == SERVER_2022 and not result["changed"]
    assert built["task"].check_mode is True


def test_failure_of_win_updates_fails_with_its_message():
    failed = load(RESULTS / "win_updates-failed.json")
    plugin, _built = make_plugin(inner=stub_returning(failed))
    result = plugin.run(task_vars={})
    assert result == {"changed": False, "backend": "windows", "failed": True, "msg": failed["msg"],
                      "exception": failed["exception"]}


def test_unreachable_host_is_passed_on():
    message = "ntlm: the specified credentials were rejected by the server"
    plugin, _built = make_plugin(inner=stub_returning({"unreachable": True, "msg": message}))
    result = plugin.run(task_vars={})
    assert result == {"changed": False, "backend": "windows", "unreachable": True, "msg": message}


def test_missing_ansible_windows_fails_clearly():
    plugin, _built = make_plugin(inner=lambda kwargs: None)
    result = plugin.run(task_vars={})
    assert result["failed"] and "collection ansible.windows" in result["msg"]


@pytest.mark.parametrize("args, message", [
    ({"reboot": True}, "Invalid options for patchpilot.fleet.windows_missing_updates: reboot"),
    ({"state": "installed"}, "Invalid options for patchpilot.fleet.windows_missing_updates: state"),
    ({"server_selection": "wsus"}, "value of server_selection must be one of"),
])
def test_install_options_are_refused(args, message):
    plugin, built = make_plugin(args, inner=stub_returning({}))
    with pytest.raises(AnsibleActionFail, match=message):
        plugin.run(task_vars={})
    assert "action" not in built


# --- through the real ansible.windows.win_updates action --------------------------------

class ModuleReplay:
    """Answers the win_updates module's start / poll / cancel operations from a fixture."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.calls = []

    def __call__(self, module_name, module_args, task_vars):
        self.calls.append((module_name, dict(module_args)))
        operation = module_args["_operation"]
        return json.loads(json.dumps(self.protocol[operation]))  # a fresh copy: the action edits results


def real_win_updates(replay):
    def build(kwargs):
        action = windows_win_updates.ActionModule(**kwargs)
        action._execute_module = replay  # pylint: disable=protected-access
        return action
    return build


def test_through_the_real_win_updates_action():
    replay = ModuleReplay(load(PROTOCOL / "win_updates-module-protocol-server2022.json"))
    plugin, _built = make_plugin({"reject_list": ["KB890830"]}, inner=real_win_updates(replay))
    result = plugin.run(task_vars={"inventory_hostname": "win01"})
    assert result == {"changed": False, "backend": "windows", "updates": SERVER_2022, "summary": SERVER_2022_SUMMARY,
                      "reboot_required": False, "filtered_count": 2}
    assert [(name, args["_operation"]) for name, args in replay.calls] == [
        ("ansible.windows.win_updates", "start"), ("ansible.windows.win_updates", "poll"),
        ("ansible.windows.win_updates", "cancel")]
    start = replay.calls[0][1]
    assert (start["state"], start["reboot"], start["reject_list"], start["category_names"]) == (
        "searched", False, ["KB890830"], ["*"])


def test_search_failure_through_the_real_win_updates_action():
    protocol = load(PROTOCOL / "win_updates-module-protocol-server2022.json")
    protocol["poll"]["output"] = [
        {"task": "started", "result": {}},
        {"task": "exit", "result": {
            "changed": False, "reboot_required": False, "failed": True,
            "exception": {"message": "Searching for updates: Exception from HRESULT: 0x8024402C",
                          "exception": "Exception from HRESULT: 0x8024402C", "hresult": -2145107924}}},
    ]
    plugin, _built = make_plugin(inner=real_win_updates(ModuleReplay(protocol)))
    result = plugin.run(task_vars={})
    assert result["failed"] is True and result["changed"] is False and result["backend"] == "windows"
    assert result["msg"] == load(RESULTS / "win_updates-failed.json")["msg"]
    assert "updates" not in result
