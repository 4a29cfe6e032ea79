#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: a host's health state in one round trip, for comparing before and after patching."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: health_snapshot
short_description: Read a host's health state (services, ports, failed units, journal, load, memory, boot) at once
version_added: 0.2.0
description:
  - Reads, in one round trip, what a comparison before and after patching needs. Running
    service units and failed units (C(systemctl list-units)), listening TCP and UDP ports
    (C(/proc/net/tcp), C(tcp6), C(udp), C(udp6)), the journal's current cursor, the load
    average, C(MemAvailable), the number of usable CPUs and the start time of PID 1.
  - The start time of PID 1 (field 22 of C(/proc/1/stat)) tells a reboot apart also in a
    container, where the kernel and its C(boot_id) are shared with the machine.
  - With O(journal_after_cursor) (or O(journal_since)) it also counts the journal entries of
    priority O(journal_priority) or more urgent written since then, and returns the last few.
  - Reads only; supports check mode.
options:
  journal_after_cursor:
    description:
      - Count the journal entries after this cursor (RV(journal_cursor) of an earlier run).
      - When the journal no longer knows the cursor (a volatile journal after a reboot),
        O(journal_since) is used instead, if given.
    type: str
  journal_since:
    description:
      - Count the journal entries written since this time, in seconds since the epoch
        (RV(time) of an earlier run). Used when O(journal_after_cursor) is not given or not
        usable.
    type: float
  journal_priority:
    description:
      - The least urgent priority counted.
    type: str
    choices: [emerg, alert, crit, err, warning, notice, info, debug]
    default: err
  journal_samples:
    description:
      - How many of the most recent counted entries RV(journal_errors_sample) returns.
    type: int
    default: 5
  journal_units:
    description:
      - Count only the entries of these systemd units, e.g. the services an update touched;
        what the unit's processes wrote and what systemd wrote about the unit. Shell-style
        patterns (V(pplab-*.service)) are allowed; a name without a type means a C(.service).
        Empty counts every unit's entries.
    type: list
    elements: str
    default: []
notes:
  - Needs root (become) to read the whole system journal.
  - Inside a container the load average and C(MemAvailable) are the machine's, not the
    container's; compare them with a baseline of the same host, with tolerance.
seealso:
  - module: ansible.builtin.service_facts
  - module: community.general.listen_ports_facts
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
- name: Take the health baseline before patching
  patchpilot.fleet.health_snapshot:
  become: true
  register: before

- name: After patching, count the errors logged since the baseline
  patchpilot.fleet.health_snapshot:
    journal_after_cursor: "{{ before.journal_cursor }}"
    journal_since: "{{ before.time }}"
  become: true
  register: after

- name: Services that ran before and no longer do
  ansible.builtin.debug:
    msg: "{{ before.services_running | difference(after.services_running) }}"
"""

RETURN = r"""
services_running:
  description: Service units in the C(running) sub-state, sorted.
  returned: success
  type: list
  elements: str
  sample: [cron.service, pplab-web.service, ssh.service]
failed_units:
  description: Units of any type in the C(failed) state, sorted.
  returned: success
  type: list
  elements: str
  sample: [pplab-fault-crash.service]
system_state:
  description: C(systemctl is-system-running), for example C(running) or C(degraded).
  returned: success
  type: str
  sample: running
ports:
  description: Listening ports as C(tcp/PORT) and C(udp/PORT), IPv4 and IPv6 together, sorted.
  returned: success
  type: list
  elements: str
  sample: [tcp/22, tcp/8080, udp/68]
listeners:
  description: Every listening socket (TCP C(LISTEN), unconnected bound UDP).
  returned: success
  type: list
  elements: dict
  contains:
    protocol:
      description: C(tcp) or C(udp).
      type: str
      sample: tcp
    address:
      description: The local address.
      type: str
      sample: 0.0.0.0
    port:
      description: The local port.
      type: int
      sample: 8080
journal_cursor:
  description: The cursor of the journal's newest entry, empty when the journal is empty or unreadable.
  returned: success
  type: str
  sample: s=8b1c...;i=3f2;b=5e0a...;m=2a1f0;t=61c2...;x=9d4e...
journal_errors:
  description:
    - Entries of O(journal_priority) or more urgent since O(journal_after_cursor) or
      O(journal_since); null when neither was given.
  returned: success
  type: int
  sample: 3
journal_errors_since:
  description: What the count started from, C(cursor), C(time), or C(none).
  returned: success
  type: str
  sample: cursor
journal_errors_sample:
  description: "The last O(journal_samples) counted entries, each as C(UNIT-OR-IDENTIFIER: MESSAGE)."
  returned: success
  type: list
  elements: str
  sample: ["pplab-fault-noisy.service: pplab-fault-noisy: error: upstream check 12 failed"]
loadavg:
  description: The 1, 5 and 15 minute load averages.
  returned: success
  type: list
  elements: float
  sample: [0.42, 0.3, 0.25]
nproc:
  description: CPUs this host may run on (its CPU affinity, as C(nproc) counts them).
  returned: success
  type: int
  sample: 2
mem_total_kb:
  description: C(MemTotal) of C(/proc/meminfo), in KiB.
  returned: success
  type: int
  sample: 24613548
mem_available_kb:
  description: C(MemAvailable) of C(/proc/meminfo), in KiB.
  returned: success
  type: int
  sample: 21877312
pid1_start:
  description: Start time of PID 1 in clock ticks since the machine booted (field 22 of C(/proc/1/stat)).
  returned: success
  type: int
  sample: 1077345
pid1_started_at:
  description: Start time of PID 1 in seconds since the epoch.
  returned: success
  type: float
  sample: 1767225600.25
boot_id:
  description: The kernel's boot id (shared by every container of a machine).
  returned: success
  type: str
  sample: 6f1d2c8e-8f0c-4b8a-9a62-1c1b5b0f8d10
time:
  description: The host's clock when the snapshot was taken, in seconds since the epoch.
  returned: success
  type: float
  sample: 1767229200.5
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.patchpilot.fleet.plugins.module_utils.health_parsers import (
    PRIORITIES,
    parse_btime,
    parse_journal_json,
    parse_meminfo,
    parse_pid1_start,
    parse_proc_net,
    parse_units,
    port_names,
)


class SnapshotError(Exception):
    """A problem that stops the snapshot as a whole."""


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


class Snapshot:
    def __init__(self, module):
        self.module = module
        self.systemctl = module.get_bin_path("systemctl")
        self.journalctl = module.get_bin_path("journalctl")
        if not self.systemctl:
            raise SnapshotError("systemctl not found: the host does not run systemd")

    def run(self, argv, allow_fail=False):
        rc, out, err = self.module.run_command(argv, environ_update={"LANG": "C", "SYSTEMD_COLORS": "0"})
        if rc != 0 and not allow_fail:
            raise SnapshotError(f"{' '.join(argv)} failed ({rc}): {err.strip() or out.strip()}")
        return rc, out, err

    def units(self, *filters):
        _rc, out, _err = self.run([self.systemctl, "list-units", "--no-legend", "--plain", "--no-pager",
                                   "--all", *filters])
        return parse_units(out)

    def listeners(self):
        found = []
        for name, protocol in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
            try:
                text = _read(f"/proc/net/{name}")
            except FileNotFoundError:
                continue  # no IPv6 in this kernel
            except OSError as exc:
                raise SnapshotError(f"cannot read /proc/net/{name}: {exc}") from exc
            found += parse_proc_net(text, protocol)
        unique = {(item["protocol"], item["address"], item["port"]): item for item in found}
        return [unique[key] for key in sorted(unique)]

    def journal_cursor(self):
        if not self.journalctl:
            return ""
        rc, out, _err = self.run([self.journalctl, "-q", "--no-pager", "-n", "1", "-o", "json"], allow_fail=True)
        if rc != 0:
            return ""
        for line in out.splitlines():
            try:
                return json.loads(line).get("__CURSOR", "")
            except ValueError:
                continue
        return ""

    def journal_errors(self, cursor, since, priority, samples, units=()):
        if not self.journalctl or (not cursor and since is None):
            return None, "none", []
        base = [self.journalctl, "-q", "--no-pager", "-o", "json", "-p", priority,
                "--output-fields=MESSAGE,_SYSTEMD_UNIT,UNIT,OBJECT_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,PRIORITY"]
        if cursor:
            rc, out, _err = self.run(base + [f"--after-cursor={cursor}"], allow_fail=True)
            if rc == 0:
                count, sample = parse_journal_json(out, samples, units)
                return count, "cursor", sample
        if since is not None:
            _rc, out, _err = self.run(base + [f"--since=@{int(since)}"])
            count, sample = parse_journal_json(out, samples, units)
            return count, "time", sample
        raise SnapshotError(f"journalctl does not accept the cursor {cursor!r} and no journal_since was given")

    def take(self, params):
        now = time.time()
        try:
            meminfo = parse_meminfo(_read("/proc/meminfo"))
            loadavg = [float(v) for v in _read("/proc/loadavg").split()[:3]]
            pid1_start = parse_pid1_start(_read("/proc/1/stat"))
            btime = parse_btime(_read("/proc/stat"))
            boot_id = _read("/proc/sys/kernel/random/boot_id").strip()
        except (OSError, ValueError, IndexError) as exc:
            raise SnapshotError(f"cannot read the kernel's process and memory information: {exc}") from exc
        ticks = os.sysconf("SC_CLK_TCK")
        state = self.run([self.systemctl, "is-system-running"], allow_fail=True)[1]
        listeners = self.listeners()
        count, since_kind, sample = self.journal_errors(
            params["journal_after_cursor"], params["journal_since"], params["journal_priority"],
            params["journal_samples"], params["journal_units"])
        return {
            "services_running": self.units("--type=service", "--state=running"),
            "failed_units": self.units("--state=failed"),
            "system_state": state.strip(),
            "ports": port_names(listeners),
            "listeners": listeners,
            "journal_cursor": self.journal_cursor(),
            "journal_errors": count,
            "journal_errors_since": since_kind,
            "journal_errors_sample": sample,
            "loadavg": loadavg,
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
            "mem_total_kb": meminfo.get("MemTotal"),
            "mem_available_kb": meminfo.get("MemAvailable", meminfo.get("MemFree")),
            "pid1_start": pid1_start,
            "pid1_started_at": round(btime + pid1_start / ticks, 2) if btime is not None else None,
            "boot_id": boot_id,
            "time": round(now, 3),
        }


def main():
    module = AnsibleModule(
        argument_spec={
            "journal_after_cursor": {"type": "str"},
            "journal_since": {"type": "float"},
            "journal_priority": {"type": "str", "default": "err", "choices": list(PRIORITIES)},
            "journal_samples": {"type": "int", "default": 5},
            "journal_units": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    if module.params["journal_samples"] < 0:
        module.fail_json(msg=f"journal_samples must be 0 or more, got {module.params['journal_samples']}")
    try:
        result = Snapshot(module).take(module.params)
    except SnapshotError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
