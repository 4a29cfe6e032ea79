"""Host facts parsers over text as the host has it."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.host_facts import (
    boot_time,
    count_dpkg_installed,
    last_dpkg_change,
    os_family,
    parse_os_release,
)

OS_RELEASE = '''PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION_CODENAME=trixie
ID=debian
# comment
'''


def test_os_release():
    release = parse_os_release(OS_RELEASE)
    assert release["VERSION_ID"] == "13" and release["VERSION_CODENAME"] == "trixie"
    assert os_family(release) == "Debian"
    assert os_family({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}) == "RedHat"
    assert os_family({"ID": "opensuse-leap", "ID_LIKE": "suse opensuse"}) == "Suse"
    assert os_family({"ID": "ubuntu", "ID_LIKE": "debian"}) == "Debian"


def test_last_dpkg_change_across_rotated_logs():
    old = "2026-10-01 10:00:00 upgrade bash:amd64 5.2-1 5.2-2\n"
    new = ("2026-11-27 11:50:02 install pplab-web:all <none> 1.0-1\n"
           "2026-11-27 11:50:03 status installed pplab-web:all 1.0-1\n"
           "2026-11-27 11:51:00 startup packages configure\n")
    assert last_dpkg_change([new, old]) == "2026-11-27T11:50:02"
    assert last_dpkg_change([""]) is None


def test_count_installed():
    status = ("Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: deinstall ok config-files\n\n"
              "Package: c\nStatus: install ok installed\n")
    assert count_dpkg_installed(status) == 2


def test_boot_time_from_pid1_start():
    proc_stat = "cpu 1 2 3\nbtime 1764240000\nprocesses 10\n"
    pid1 = "1 (systemd) S 0 1 1 0 -1 4194560 " + " ".join(["0"] * 12) + " 12345 0"
    # starttime is field 22 (fields 10-21 are zeros here), so 12345 ticks = 123.45 s after btime.
    fields = pid1.rsplit(")", 1)[1].split()
    assert fields[19] == "12345"
    assert boot_time(proc_stat, pid1, 100) == "2025-11-27T10:42:03+00:00"
