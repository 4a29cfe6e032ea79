"""preflight_checks.reboot_check: is a reboot pending (noted, never a failure)?"""

from __future__ import annotations

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.preflight_checks import reboot_check


def test_apt_marker_and_its_packages():
    verdict = reboot_check("apt", True, "linux-image-amd64\nlibc6\nlibc6\n")
    assert verdict == {"ok": True, "pending": True, "known": True, "method": "/var/run/reboot-required",
                       "packages": ["linux-image-amd64", "libc6"], "message": "reboot: pending"}
    assert reboot_check("apt")["message"] == "reboot: not pending"


@pytest.mark.parametrize(("plain", "plugin", "message", "pending"), [
    ({"rc": 1, "stdout": "Reboot is required to fully utilize these updates."}, {"skipped": True},
     "reboot: pending (needs-restarting -r)", True),
    ({"rc": 0, "stdout": "No core libraries have been updated"}, {"skipped": True},
     "reboot: not pending (needs-restarting -r)", False),
    ({"rc": 127, "stdout": ""}, {"rc": 1, "stdout": "Reboot should not be necessary"},
     "reboot: pending (dnf needs-restarting -r)", True),
    ({"rc": 127}, {"rc": 2, "stdout": "No such command"},
     "reboot: unknown: neither needs-restarting -r nor dnf needs-restarting -r answered (install dnf-utils)"
     " (dnf needs-restarting -r)", False),
])
def test_dnf_needs_restarting(plain, plugin, message, pending):
    verdict = reboot_check("dnf", needs_restarting=plain, dnf_needs_restarting=plugin, expected_after_patch=True)
    assert verdict["ok"] is True and verdict["message"] == message and verdict["pending"] is pending
    assert verdict["expected_after_patch"] is True
