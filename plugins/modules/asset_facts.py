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
    hostname, FQDN, machine id, addresses (IP and MAC per interface), OS family, distribution,
    version and codename, kernel, architecture, current revision level (the last package change
    in the package manager's history, the number of installed packages and a digest of their
    list), last boot and whether a reboot is pending.
  - The machine id identifies the machine whatever its name (docs/identity.md) - on Linux
    C(/etc/machine-id), else C(/var/lib/dbus/machine-id); on macOS the IOPlatformUUID - as 32
    lower-case hex digits. When there is none (absent, empty, malformed) it is null and
    RV(asset.machine_id_reason) says why.
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
    machine_id: 9072a86b1afd8a53c8e11517bf1c7207
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
    packages_digest: "sha256:3d0b300e73adda8432da8a03c1d944f3a4ebb202fa43be86fbfb05b72f999651"
    last_boot: "2026-11-27T12:31:05+00:00"
    reboot_pending: false
    reboot_pending_packages: []
  contains:
    machine_id:
      description:
        - The machine's id, 32 lower-case hex digits (Linux machine-id, macOS IOPlatformUUID without
          hyphens), or null when the host has none.
      returned: always
      type: str
    machine_id_reason:
      description: Why RV(asset.machine_id) is null (each file tried and what is wrong with it).
      returned: when machine_id is null
      type: str
      sample: "/etc/machine-id: empty (not initialised yet); /var/lib/dbus/machine-id: absent"
    packages_digest:
      description:
        - C(sha256:) and the digest of the sorted C(name:arch=version) list of installed packages
          (dpkg), the same for two hosts with the same packages; null without dpkg.
      returned: always
      type: str
"""

import glob
import gzip
import os
import platform
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.patchpilot.fleet.plugins.module_utils.host_facts import (
    MACHINE_ID_FILES,
    boot_time,
    count_dpkg_installed,
    dpkg_packages_digest,
    ioreg_platform_uuid,
    last_dpkg_change,
    machine_id,
    os_family,
    parse_os_release,
)


def _read(path: str, default: str | None = "") -> str | None:
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


def _machine_id(module) -> tuple:
    """(machine_id, reason): macOS asks ioreg, every other host reads its machine-id files."""
    if platform.system() == "Darwin":
        ioreg = module.get_bin_path("ioreg")
        if not ioreg:
            return None, "ioreg not found"
        rc, out, err = module.run_command([ioreg, "-rd1", "-c", "IOPlatformExpertDevice"])
        found = ioreg_platform_uuid(out) if rc == 0 else None
        return (found, None) if found else (None, f"ioreg: no IOPlatformUUID ({(err or '').strip() or f'rc {rc}'})")
    return machine_id([(path, _read(path, None)) for path in MACHINE_ID_FILES])


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
        "machine_id": None,
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
        "packages_digest": None,
        "last_boot": None,
        "reboot_pending": os.path.exists("/run/reboot-required") or os.path.exists("/var/run/reboot-required"),
        "reboot_pending_packages": sorted(set(_read("/run/reboot-required.pkgs").split())),
    }
    if os.path.exists("/var/lib/dpkg/status"):
        asset["package_manager"] = "apt" if module.get_bin_path("apt-get") else "dpkg"
        logs = sorted(glob.glob("/var/log/dpkg.log*"))
        asset["last_package_change"] = last_dpkg_change([_read(p) for p in logs])
        status = _read("/var/lib/dpkg/status")
        asset["installed_packages"] = count_dpkg_installed(status)
        asset["packages_digest"] = dpkg_packages_digest(status)
    asset["machine_id"], reason = _machine_id(module)
    if reason:
        asset["machine_id_reason"] = reason
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
