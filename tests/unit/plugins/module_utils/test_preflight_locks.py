"""preflight_checks.locks_check: are the package manager's locks free?"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.preflight_checks import locks_check


def test_free_after_waiting():
    assert locks_check("apt", {"free": True, "waited_seconds": 3, "held": []}, 600) == {
        "ok": True, "waited_seconds": 3, "held": [], "message": "locks: free after 3 s"}


def test_still_held_names_the_holders():
    held = [{"path": "/var/lib/dpkg/lock-frontend", "pid": 42}]
    verdict = locks_check("apt", {"free": False, "waited_seconds": 15, "held": held}, "15")
    assert verdict["ok"] is False and verdict["held"] == held
    assert verdict["message"] == ('locks: still held after 15 s (preflight_lock_timeout): '
                                  '[{"path": "/var/lib/dpkg/lock-frontend", "pid": 42}]')


def test_unsupported_package_manager():
    assert locks_check("zypper", None, 600, "preflight checks apt and dnf hosts only") == {
        "ok": False, "waited_seconds": 0, "held": [], "message": "locks: preflight checks apt and dnf hosts only"}
