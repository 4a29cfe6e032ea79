#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: what a host says about itself, as one asset record."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: asset_facts
short_description: Report a host's identity, OS, revision level, last boot and pending reboot
version_added: 0.1.0
description:
  - Returns one asset record for the host, read in one pass without a round trip per item
    hostname, FQDN, addresses (IP and MAC per interface), OS family, distribution, version and
    codename, kernel, architecture, current revision level (the last package change in the
    package manager's history and the number of installed packages), last boot and whether a
    reboot is pending.
  - Location, owner and the other CMDB metadata are not the host's to know; the scan joins
    them from the inventory on the controller.
  - Reads only; supports check mode.
options: {}
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Read the host's asset facts
  patchpilot.fleet.asset_facts:
  register: asset
"""

RETURN = r"""
asset:
  description: The host's asset record.
  returned: success
  type: dict
  sample:
    hostname: db01
    fqdn: db01.lab.patchpilot.test
    ip_address: 10.213.0.12
    mac_address: "02:50:0a:d5:00:0c"
    interfaces: [{name: eth0, mac: "02:50:0a:d5:00:0c", ipv4: [10.213.0.12], ipv6: []}]
    os_family: Debian
    os_distribution: Debian
    os_version: "12"
    os_codename: bookworm
    os_pretty_name: Debian GNU/Linux 12 (bookworm)
    kernel: 6.1.0-27-amd64
    architecture: x86_64
    package_manager: apt
    last_package_change: "2026-11-27T11:50:02"
    installed_packages: 180
    last_boot: "2026-11-27T12:31:05+00:00"
    reboot_pending: false
    reboot_pending_packages: []
"""

import glob
import gzip
import os
import platform
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.patchpilot.fleet.plugins.module_utils.host_facts import (
    boot_time,
    count_dpkg_installed,
    last_dpkg_change,
    os_family,
    parse_os_release,
)


def _read(path: str, default: str = "") -> str:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
                return handle.read()
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return default


def _interfaces() -> list:
    found = []
    for path in sorted(glob.glob("/sys/class/net/*")):
        name = os.path.basename(path)
        if name == "lo":
            continue
        found.append({"name": name, "mac": _read(os.path.join(path, "address")).strip() or None,
                      "ipv4": [], "ipv6": []})
    return found


def _addresses(module, interfaces: list) -> None:
    ip_cmd = module.get_bin_path("ip")
    if not ip_cmd:
        return
    rc, out, _err = module.run_command([ip_cmd, "-o", "addr", "show"])
    if rc != 0:
        return
    by_name = {i["name"]: i for i in interfaces}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        name = parts[1].split("@")[0]
        family, address = parts[2], parts[3].split("/")[0]
        if name in by_name and family in ("inet", "inet6"):
            by_name[name]["ipv4" if family == "inet" else "ipv6"].append(address)


def _default_interface() -> str | None:
    for line in _read("/proc/net/route").splitlines()[1:]:
        parts = line.split()
        if len(parts) > 2 and parts[1] == "00000000":
            return parts[0]
    return None


def collect(module) -> dict:
    release = parse_os_release(_read("/etc/os-release") or _read("/usr/lib/os-release"))
    interfaces = _interfaces()
    _addresses(module, interfaces)
    default = _default_interface()
    primary = next((i for i in interfaces if i["name"] == default), interfaces[0] if interfaces else None)
    uname = platform.uname()
    asset = {
        "hostname": socket.gethostname().split(".")[0],
        "fqdn": socket.getfqdn(),
        "ip_address": (primary["ipv4"] or [None])[0] if primary else None,
        "mac_address": primary["mac"] if primary else None,
        "interfaces": interfaces,
        "os_family": os_family(release),
        "os_distribution": release.get("NAME", "").replace(" GNU/Linux", "") or None,
        "os_version": release.get("VERSION_ID"),
        "os_codename": release.get("VERSION_CODENAME"),
        "os_pretty_name": release.get("PRETTY_NAME"),
        "kernel": uname.release,
        "architecture": uname.machine,
        "package_manager": None,
        "last_package_change": None,
        "installed_packages": None,
        "last_boot": None,
        "reboot_pending": os.path.exists("/run/reboot-required") or os.path.exists("/var/run/reboot-required"),
        "reboot_pending_packages": sorted(set(_read("/run/reboot-required.pkgs").split())),
    }
    if os.path.exists("/var/lib/dpkg/status"):
        asset["package_manager"] = "apt" if module.get_bin_path("apt-get") else "dpkg"
        logs = sorted(glob.glob("/var/log/dpkg.log*"))
        asset["last_package_change"] = last_dpkg_change([_read(p) for p in logs])
        asset["installed_packages"] = count_dpkg_installed(_read("/var/lib/dpkg/status"))
    try:
        asset["last_boot"] = boot_time(_read("/proc/stat"), _read("/proc/1/stat"), os.sysconf("SC_CLK_TCK"))
    except (StopIteration, IndexError, ValueError, OSError):
        asset["last_boot"] = None
    return asset


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.exit_json(changed=False, asset=collect(module))


if __name__ == "__main__":
    main()
