"""preflight_checks.backup_check: is there a recent verified backup (or is none required)?"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.preflight_checks import backup_check


def test_command():
    assert backup_check(command="check-backup", command_result={"rc": 0})["message"] == "backup: verified by command"
    bad = backup_check(command="check-backup", command_result={"rc": 2, "stderr": "  no backup tonight \n"})
    assert bad == {"ok": False, "method": "command", "rc": 2,
                   "message": "backup: preflight_backup_command exited 2: no backup tonight"}


def test_marker_age():
    fresh = backup_check(marker="/var/backups/ok", marker_stat={"exists": True, "mtime": 1000}, now=1000 + 3600, max_age_hours=24)
    assert fresh["ok"] is True and fresh["age_hours"] == 1.0
    assert fresh["message"] == "backup: marker /var/backups/ok is 1.0 h old, limit 24 h (preflight_backup_max_age_hours)"
    old = backup_check(marker="/var/backups/ok", marker_stat={"exists": True, "mtime": 0}, now=30 * 3600, max_age_hours=24)
    assert old["ok"] is False
    missing = backup_check(marker="/var/backups/ok", marker_stat={"exists": False})
    assert missing == {"ok": False, "method": "marker", "message": "backup: marker /var/backups/ok does not exist"}


def test_none_configured():
    assert backup_check(required=True)["ok"] is False
    assert "preflight_backup_required: false" in backup_check(required=True)["message"]
    assert backup_check(required=False) == {"ok": True, "method": "none",
                                            "message": "backup: not required (preflight_backup_required: false)"}
