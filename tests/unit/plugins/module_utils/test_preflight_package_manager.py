"""preflight_checks.package_manager_check: is dpkg (or rpm, by dnf check) healthy?"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.installed_packages import parse_dpkg_query
from ansible_collections.patchpilot.fleet.plugins.module_utils.preflight_checks import package_manager_check

HEALTHY = parse_dpkg_query("openssl\t3.0\tamd64\tii \npp-old\t1\tall\trc \npp-held\t1\tall\thi \npp-gone\t\tall\tpn \n")


def test_apt_healthy():
    verdict = package_manager_check("apt", {"rc": 0, "stdout": "", "stderr": ""}, HEALTHY)
    assert verdict == {"ok": True, "tool": "dpkg", "audit": [], "not_installed": [], "message": "package_manager: healthy"}


def test_apt_half_configured_and_reinstreq_packages():
    records = HEALTHY + parse_dpkg_query("pp-broken\t1\tall\tiF \npp-reinst\t1\tall\tiiR\n")
    verdict = package_manager_check("apt", {"rc": 0, "stdout": "", "stderr": ""}, records)
    assert verdict["ok"] is False and verdict["not_installed"] == ["iF pp-broken", "iiR pp-reinst"]
    assert verdict["message"] == "package_manager: dpkg --audit rc 0 ; half-installed or unconfigured: iF pp-broken, iiR pp-reinst"


def test_apt_audit_complaint():
    audit = {"rc": 0, "stdout": "The following packages are only half configured:\n pp-x\n", "stderr": ""}
    verdict = package_manager_check("apt", audit, HEALTHY)
    assert verdict["ok"] is False and verdict["audit"] == ["The following packages are only half configured:", " pp-x"]
    assert verdict["message"].startswith("package_manager: dpkg --audit rc 0 The following packages")


def test_dnf_check():
    assert package_manager_check("dnf", dnf_check={"rc": 0, "stdout": "", "stderr": "Unable to detect release version\n"})[
        "message"] == "package_manager: healthy"
    bad = package_manager_check("dnf", dnf_check={"rc": 1, "stdout": "pp-x has missing requires of libfoo\n", "stderr": ""})
    assert bad["ok"] is False and bad["tool"] == "dnf"
    assert bad["message"] == "package_manager: dnf check rc 1: pp-x has missing requires of libfoo"


def test_unsupported():
    assert package_manager_check("pacman", unsupported="only apt and dnf")["message"] == "package_manager: only apt and dnf"
