"""Host facts parsers over text as the host has it."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils.host_facts import (
    boot_time,
    count_dpkg_installed,
    dpkg_packages_digest,
    ioreg_platform_uuid,
    last_dpkg_change,
    machine_id,
    normalise_machine_id,
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


MID = "9072a86b1afd8a53c8e11517bf1c7207"


@pytest.mark.parametrize(("files", "expected"), [
    ([("/etc/machine-id", MID + "\n"), ("/var/lib/dbus/machine-id", None)], (MID, None)),
    # the first file is empty (an image that gets its id at first boot): D-Bus' copy answers
    ([("/etc/machine-id", ""), ("/var/lib/dbus/machine-id", MID.upper() + "\n")], (MID, None)),
    ([("/etc/machine-id", None), ("/var/lib/dbus/machine-id", None)],
     (None, "/etc/machine-id: absent; /var/lib/dbus/machine-id: absent")),
    ([("/etc/machine-id", "\n"), ("/var/lib/dbus/machine-id", None)],
     (None, "/etc/machine-id: empty (not initialised yet); /var/lib/dbus/machine-id: absent")),
    ([("/etc/machine-id", "uninitialized\n")], (None, "/etc/machine-id: uninitialized (first boot in progress)")),
    ([("/etc/machine-id", MID[:31] + "g\n")],
     (None, f"/etc/machine-id: malformed '{MID[:31]}g' (expected 32 hex digits)")),
    ([("/etc/machine-id", "0" * 32)], (None, f"/etc/machine-id: malformed '{'0' * 32}' (expected 32 hex digits)")),
    # a UUID with hyphens is not a Linux machine id
    ([("/etc/machine-id", "9072a86b-1afd-8a53-c8e1-1517bf1c7207")],
     (None, "/etc/machine-id: malformed '9072a86b-1afd-8a53-c8e1-1517bf1c7207' (expected 32 hex digits)")),
    ([], (None, "no machine id file")),
])
def test_machine_id(files, expected):
    assert machine_id(files) == expected


def test_a_long_malformed_machine_id_is_shown_cut():
    _id, reason = machine_id([("/etc/machine-id", "x" * 100)])
    assert reason == f"/etc/machine-id: malformed '{'x' * 40}...' (expected 32 hex digits)"


@pytest.mark.parametrize(("text", "expected"), [
    ("{9072A86B-1AFD-8A53-C8E1-1517BF1C7207}", MID),  # Windows MachineGuid style
    ("9072a86b-1afd-8a53-c8e1-1517bf1c7207", MID),
    (MID, MID),
    ("9072a86b", None), ("", None), (None, None), (42, None), ("0" * 32, None),
])
def test_normalise_machine_id(text, expected):
    assert normalise_machine_id(text) == expected


IOREG = '''+-o J316sAP  <class IOPlatformExpertDevice, id 0x100000210, registered, matched, active, busy 0>
    {
      "IOPlatformSerialNumber" = "C02XL0GYJGH5"
      "IOPlatformUUID" = "9072A86B-1AFD-8A53-C8E1-1517BF1C7207"
      "model" = <"MacBookPro18,1">
    }
'''


def test_ioreg_platform_uuid():
    assert ioreg_platform_uuid(IOREG) == MID
    assert ioreg_platform_uuid(IOREG.replace("IOPlatformUUID", "IOPlatformSerial")) is None
    assert ioreg_platform_uuid("") is None


STATUS = """Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b7
Description: GNU Bourne Again SHell
 a continuation line: with a colon

Package: old
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
"""


def test_packages_digest_is_the_installed_list_in_any_order():
    digest = dpkg_packages_digest(STATUS)
    assert digest == "sha256:" + hashlib.sha256(b"bash:amd64=5.2.15-2+b7\ntzdata:all=2024a-0+deb12u1").hexdigest()
    stanzas = STATUS.strip().split("\n\n")
    assert dpkg_packages_digest("\n\n".join(reversed(stanzas)) + "\n") == digest
    # a new version, and a package removed (config files kept), each change it
    assert dpkg_packages_digest(STATUS.replace("5.2.15-2+b7", "5.2.15-2+b8")) != digest
    assert dpkg_packages_digest(STATUS.replace("Package: tzdata\nStatus: install ok installed",
                                               "Package: tzdata\nStatus: deinstall ok config-files")) != digest


def test_packages_digest_of_nothing_installed():
    assert dpkg_packages_digest("") is None
    assert dpkg_packages_digest("Package: old\nStatus: deinstall ok config-files\n") is None
