#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: processes still running files an update replaced, and their systemd units."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stale_processes
short_description: Find processes that still map deleted (replaced) files, and their systemd units
version_added: 0.2.0
description:
  - Scans C(/proc/*/maps) for mapped files marked C((deleted)), which is what a process shows
    after a package upgrade replaced a library (or any other mapped file) it had loaded, and
    optionally C(/proc/*/exe) for a replaced executable.
  - Maps every such process to its systemd service unit, read from C(/proc/PID/cgroup) (the
    innermost C(*.service) component of the systemd hierarchy).
  - Kernel threads and the module's own processes are left out. Anonymous shared memory,
    memfd, SysV segments and files under scratch directories are deleted by design and are
    ignored (see O(ignore_prefixes)).
  - A process the module cannot read as root (a container without C(CAP_SYS_PTRACE) refuses
    root access to another user's C(maps)) is read again as its owner; a process still
    unreadable is listed in RV(unreadable).
  - Reads only; supports check mode.
options:
  check_exe:
    description:
      - Also report processes whose executable (C(/proc/PID/exe)) was replaced.
    type: bool
    default: true
  ignore_prefixes:
    description:
      - Path prefixes of deleted mappings that are not reported.
      - The default ignores C(/memfd:), C(/SYSV), C(/dev/), C(/[aio]), C(/proc/), C(/run/),
        C(/tmp/), C(/var/tmp/) and C(/drm).
    type: list
    elements: str
notes:
  - Needs root (become) to see other users' processes.
  - A process outside any service (a login session, a cron job) is reported with a C(null) unit;
    only RV(units) feeds a restart.
seealso:
  - name: needrestart
    description: The Debian tool that does the same check, with interpreter support.
    link: https://github.com/liske/needrestart
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
- name: Find services still running replaced libraries
  patchpilot.fleet.stale_processes:
  become: true
  register: stale

- name: Restart them
  ansible.builtin.systemd_service:
    name: "{{ item }}"
    state: restarted
  loop: "{{ stale.units }}"
  become: true

- name: Only mapped files, not replaced executables
  patchpilot.fleet.stale_processes:
    check_exe: false
    ignore_prefixes: ["/memfd:", /dev/, /tmp/, /opt/scratch/]
  become: true
"""

RETURN = r"""
processes:
  description: Every process that maps a deleted file (or runs a deleted executable), sorted by pid.
  returned: success
  type: list
  elements: dict
  contains:
    pid:
      description: Process id.
      type: int
      sample: 412
    comm:
      description: The process name (C(/proc/PID/comm)).
      type: str
      sample: python3
    unit:
      description: The systemd service unit the process belongs to, null when it is in none.
      type: str
      sample: pplab-web.service
    files:
      description: The deleted files it still maps, sorted; the replaced executable is included.
      type: list
      elements: str
      sample: [/usr/lib/x86_64-linux-gnu/libssl.so.3]
  sample:
    - pid: 412
      comm: python3
      unit: pplab-web.service
      files: [/usr/share/pplab-seclib/VERSION]
units:
  description: The sorted unique service units of RV(processes).
  returned: success
  type: list
  elements: str
  sample: [nginx.service, pplab-web.service]
files:
  description: Every deleted file still in use on the host, sorted.
  returned: success
  type: list
  elements: str
  sample: [/usr/lib/x86_64-linux-gnu/libssl.so.3]
unreadable:
  description: Pids whose maps could be read neither as root nor as their owner.
  returned: success
  type: list
  elements: int
  sample: []
"""

import os
import subprocess

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.patchpilot.fleet.plugins.module_utils.stale import (
    DEFAULT_IGNORE_PREFIXES,
    deleted_exe,
    parse_maps,
    summarise,
    unit_from_cgroup,
)


class StaleScanError(Exception):
    """A problem that stops the scan as a whole."""


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _read_as_owner(pid, name):
    """Read /proc/PID/NAME as the process's owner (ptrace access as root may be refused)."""
    stat = os.stat(f"/proc/{pid}")
    proc = subprocess.run(["cat", f"/proc/{pid}/{name}"], user=stat.st_uid, group=stat.st_gid,
                          extra_groups=[], capture_output=True, check=False)
    if proc.returncode != 0:
        raise PermissionError(proc.stderr.decode("utf-8", "replace").strip())
    return proc.stdout.decode("utf-8", "replace")


def _own_pids():
    pids = {os.getpid()}
    pid = os.getpid()
    # The module's ancestors (the interpreter wrapper, sudo, the ssh session's shell)
    # map nothing an upgrade replaced, but leaving them out keeps the result stable.
    for _step in range(4):
        try:
            pid = int(_read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if pid <= 1:
            break
        pids.add(pid)
    return pids


def scan(check_exe, ignore_prefixes):
    try:
        entries = os.listdir("/proc")
    except OSError as exc:
        raise StaleScanError(f"cannot list /proc: {exc}") from exc
    own = _own_pids()
    processes, unreadable = [], []
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in own:
            continue
        try:
            maps = _read(f"/proc/{pid}/maps")
        except FileNotFoundError:
            continue  # gone meanwhile
        except PermissionError:
            try:
                maps = _read_as_owner(pid, "maps")
            except (OSError, subprocess.SubprocessError):
                unreadable.append(pid)
                continue
        except OSError:
            continue
        if not maps:
            continue  # kernel thread: no address space of its own
        files = parse_maps(maps, ignore_prefixes)
        if check_exe:
            try:
                exe = deleted_exe(os.readlink(f"/proc/{pid}/exe"), ignore_prefixes)
            except OSError:
                exe = None
            if exe and exe not in files:
                files = sorted(files + [exe])
        if not files:
            continue
        try:
            comm = _read(f"/proc/{pid}/comm").strip()
            unit = unit_from_cgroup(_read(f"/proc/{pid}/cgroup"))
        except FileNotFoundError:
            continue
        except OSError:
            comm, unit = "", None
        processes.append({"pid": pid, "comm": comm, "unit": unit, "files": files})
    processes.sort(key=lambda p: p["pid"])
    return {
        "processes": processes,
        "units": summarise(processes),
        "files": sorted({f for p in processes for f in p["files"]}),
        "unreadable": sorted(unreadable),
    }


def main():
    module = AnsibleModule(
        argument_spec={
            "check_exe": {"type": "bool", "default": True},
            "ignore_prefixes": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    prefixes = module.params["ignore_prefixes"]
    if prefixes is None:
        prefixes = list(DEFAULT_IGNORE_PREFIXES)
    try:
        result = scan(module.params["check_exe"], tuple(prefixes))
    except StaleScanError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
