"""The health_snapshot module's journal reading, with run_command recorded (the parsers: module_utils)."""

from __future__ import annotations

import json

from ansible_collections.patchpilot.fleet.plugins.modules.health_snapshot import Snapshot

BURST = [
    {"__CURSOR": "s=e5;i=fd", "SYSLOG_IDENTIFIER": "sshd", "PRIORITY": "3", "MESSAGE": "error: reset"},
    {"__CURSOR": "s=e5;i=103", "_SYSTEMD_UNIT": "pp-burst.service", "PRIORITY": "3", "MESSAGE": "burst 1"},
    {"__CURSOR": "s=e5;i=104", "_SYSTEMD_UNIT": "init.scope", "UNIT": "pp-burst.service", "PRIORITY": "3",
     "MESSAGE": "Failed to start pp-burst.service."},
    {"__CURSOR": "s=e5;i=106", "_SYSTEMD_UNIT": "pp-other.service", "PRIORITY": "3", "MESSAGE": "other"},
]


class _Module:
    """Just what Snapshot uses of an AnsibleModule: the bin paths and run_command, recorded."""

    def __init__(self, output):
        self.output, self.calls = output, []

    def get_bin_path(self, name):
        return f"/usr/bin/{name}"

    def run_command(self, argv, environ_update=None):
        self.calls.append(argv)
        return 0, self.output, ""


def test_snapshot_counts_only_the_units_after_the_cursor():
    """No --unit for journalctl: systemd 247's journalctl drops the first match after --after-cursor with it."""
    module = _Module("\n".join(json.dumps(entry) for entry in BURST) + "\n")
    assert Snapshot(module).journal_errors("s=1", None, "err", 1, ["pp-burst.service"]) == (
        2, "cursor", ["init.scope: Failed to start pp-burst.service."])
    assert not [arg for arg in module.calls[-1] if arg.startswith(("-u", "--unit"))]
    assert module.calls[-1][-1] == "--after-cursor=s=1"
