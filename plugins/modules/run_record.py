#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_record action (it runs on the controller, plugins/action/run_record.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_record
short_description: Keep a patch run's record on the controller
version_added: 0.1.0
description:
  - Runs on the controller. Reads and writes the run directory of
    C(plugins/module_utils/runrecord.py) (C(<base_dir>/<run_id>/)); every file is written
    atomically. C(playbooks/patch.yml) uses it between the steps of a run.
  - Every path built from a run id or a host name is checked to stay inside the run directory;
    a run id or host name with C(/), C(..), a leading dot, white space (space, tab, newline), NUL
    or another control character is refused, and so is an existing run directory that group or
    others may write to.
  - Changes to a run directory hold its writers' lock (C(.lock), an exclusive C(flock)), so that
    hosts recorded at once from several forks never lose a history entry; temporary files left
    by a writer that was killed mid-write are removed when the run directory is opened again.
  - O(action=new_id) makes a run id; O(action=find) finds the newest unfinished run of a
    scope; O(action=start) starts a run from a plan file; O(action=load) reads a run.
  - O(action=record) moves the host (O(host), default the task's host) to O(phase) with
    O(detail); O(action=observe) keeps the host's installed versions (O(packages), the records of
    the M(patchpilot.fleet.installed_packages) module, or O(dpkg_query)) as
    C(archive/<host>/final.json), compared with the plan.
  - O(action=wave_end) notes the wave's hosts missing from O(active_hosts) as unreachable
    and checks the failure budget; O(action=status) checks the budget. With
    O(halt_on_budget) a failed canary or a spent budget halts the run (C(run.json) says why).
  - O(action=gate) says whether wave O(wave) may start now (its maintenance window).
  - O(action=finish) closes the run as C(completed) or C(failed) and writes C(summary.json);
    a run with hosts still to do and not halted stays open for a rerun.
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [new_id, find, start, load, record, observe, wave_end, status, gate, finish]
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  scope:
    description: The run's scope (inventory and limit), for O(action=find) and O(action=start).
    type: str
  run_id:
    description:
      - The run's id (all actions but new_id and find), a file name without C(/), white space,
        NUL or a leading dot.
    type: str
  plan_file:
    description: The plan to start the run with (O(action=start)); a plan made for another run id keeps its versions and gets this run's id.
    type: path
  host:
    description: The host to record; defaults to the task's host.
    type: str
  phase:
    description: The host's new phase (O(action=record)).
    type: str
    choices: [pending, preflight, staged, snapshotted, patched, verified, done, failed, rolled_back]
  detail:
    description: What to keep with the phase.
    type: raw
  wave:
    description: The wave number (O(action=wave_end), O(action=gate)).
    type: int
  active_hosts:
    description: Hosts still in the play at the end of the wave (C(ansible_play_hosts)).
    type: list
    elements: str
    default: []
  halt_on_budget:
    description: Halt the run when the canary failed or the budget is spent.
    type: bool
    default: true
  max_wait:
    description: Seconds a wave may wait for its planned start.
    type: int
    default: 3600
  now:
    description: The time to act at (ISO 8601), instead of now.
    type: str
  dpkg_query:
    description:
      - Output of C(dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n') for O(action=observe),
        when O(packages) is not given.
    type: str
  packages:
    description:
      - For O(action=observe), the installed package records of the host, as the
        M(patchpilot.fleet.installed_packages) module returns them (RV(patchpilot.fleet.installed_packages#module:packages)).
    type: list
    elements: dict
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Record a host as patched
  patchpilot.fleet.run_record:
    action: record
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    phase: patched
    detail: {rc: 0}
"""

RETURN = r"""
run_id:
  description: The run's id.
  returned: always
  type: str
phases:
  description: Host to phase, for start, load, wave_end, status and finish.
  returned: when a run is read
  type: dict
pending_waves:
  description: Wave number to the hosts of that wave still to do.
  returned: when a run is read
  type: dict
budget:
  description: The failure budget against the hosts' records (counted, spent, canary_failed, halt, reason).
  returned: when a run is read
  type: dict
archive_dirs:
  description: Host to its archive folder in the run directory (C(<run dir>/archive/<host>)), built and checked by the run record.
  returned: when a run is read
  type: dict
  sample: {web1: /var/lib/patchpilot/runs/20261127T210000Z-a1b2c3/archive/web1}
halted:
  description: Why the run was halted, or null.
  returned: wave_end and status
  type: dict
go:
  description: Whether the wave may start (O(action=gate)), with wait_seconds and reason.
  returned: gate
  type: bool
state:
  description: The run's state after O(action=finish).
  returned: finish
  type: str
"""
