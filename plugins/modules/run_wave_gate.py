#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_wave_gate action (it runs on the controller, plugins/action/run_wave_gate.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_wave_gate
short_description: Say whether a wave of a patch run may start
version_added: 0.2.0
description:
  - Runs on the controller, once before each wave of C(playbooks/patch.yml).
  - Notes the run's hosts missing from O(active_hosts) as unreachable, checks the failure
    budget (with O(halt_on_budget) a failed canary or a spent budget halts the run), reads the
    wave's hosts still to do and checks the wave's window (C(plugins/module_utils/rollout.py));
    RV(go) when the wave has hosts to do, the run is not halted and the window allows it.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The run's id, a file name without C(/), white space, NUL or a leading dot.
    type: str
    required: true
  wave:
    description: The wave's number in the plan.
    type: int
    required: true
  active_hosts:
    description: Hosts still in the play (C(ansible_play_hosts)); a host of the run missing from it went unreachable.
    type: list
    elements: str
    default: []
  halt_on_budget:
    description: Halt the run when the canary failed or the budget is spent (C(run.json) says why).
    type: bool
    default: true
  max_wait:
    description: Seconds a wave may wait for its planned start.
    type: int
    default: 3600
  now:
    description: The time to act at (ISO 8601), instead of now.
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: patchpilot.fleet.run_open
  - module: patchpilot.fleet.run_start
  - module: patchpilot.fleet.run_host_record
  - module: patchpilot.fleet.run_host_final
  - module: patchpilot.fleet.run_wave_end
  - module: patchpilot.fleet.run_finish
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: May the wave start
  patchpilot.fleet.run_wave_gate:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    wave: 1
    active_hosts: "{{ ansible_play_hosts }}"
  register: gate
"""

RETURN = r"""
run_id:
  description: The run's id.
  returned: always
  type: str
  sample: 20261127T210000Z-a1b2c3
plan:
  description: The run's plan (format 2, C(plugins/module_utils/planner.py)).
  returned: always
  type: dict
phases:
  description: Host to phase.
  returned: always
  type: dict
  sample: {web1: done, db1: pending}
pending:
  description: The hosts still to do, in wave order.
  returned: always
  type: list
  elements: str
pending_waves:
  description: Wave number (a string) to the hosts of that wave still to do.
  returned: always
  type: dict
  sample: {"0": [web1], "1": [db1]}
budget:
  description: The failure budget against the hosts' records (counted, spent, canary_failed, halt, reason).
  returned: always
  type: dict
counts:
  description: Phase to number of hosts, and C(unreachable).
  returned: always
  type: dict
archive_dirs:
  description: Host to its archive folder in the run directory (C(<run dir>/archive/<host>)), built and checked by the run record.
  returned: always
  type: dict
  sample: {web1: /var/lib/patchpilot/runs/20261127T210000Z-a1b2c3/archive/web1}
run:
  description: The run record (C(run.json)).
  returned: always
  type: dict
run_dir:
  description: The run directory.
  returned: always
  type: str
go:
  description: Whether the wave may start.
  returned: always
  type: bool
wait_seconds:
  description: Seconds to wait for the wave's planned start.
  returned: always
  type: int
reason:
  description: Why the wave does not start, or null.
  returned: always
  type: str
hosts:
  description: The wave's hosts still to do.
  returned: always
  type: list
  elements: str
halted:
  description: Why the run was halted, or null.
  returned: always
  type: dict
went_unreachable:
  description: The hosts noted as unreachable now.
  returned: always
  type: list
  elements: str
"""
