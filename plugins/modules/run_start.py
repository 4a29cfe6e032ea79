#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_start action (it runs on the controller, plugins/action/run_start.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_start
short_description: Start a patch run's record from its plan, or continue an interrupted run
version_added: 0.2.0
description:
  - Runs on the controller. Starts the run directory of C(plugins/module_utils/runrecord.py)
    (C(<base_dir>/<run_id>/)) from O(plan_file), writing C(plan.json), C(run.json) and a pending record
    per host in a wave; a plan made for another run id keeps its versions and gets this run's id.
  - With O(resume) it reads the interrupted run instead; with O(fresh_plan_file) too (the
    operator's C(patchpilot_replan)), the run's finished hosts keep their plan and the pending
    hosts take the fresh plan's entries, waves and settings (C(plancheck.replan_pending)).
  - Every path built from a run id or a host name is checked to stay inside the run directory;
    every file is written atomically under the run directory's writers' lock.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The run's id, a file name without C(/), white space, NUL or a leading dot.
    type: str
    required: true
  scope:
    description: The run's scope (inventory and limit), for a new run.
    type: str
  plan_file:
    description: The plan to start a new run with (format 2).
    type: path
  resume:
    description: Continue the interrupted run O(run_id) instead of starting one.
    type: bool
    default: false
  fresh_plan_file:
    description: With O(resume), a plan made now under the current policy for the pending hosts.
    type: path
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
  - module: patchpilot.fleet.run_host_record
  - module: patchpilot.fleet.run_host_final
  - module: patchpilot.fleet.run_wave_gate
  - module: patchpilot.fleet.run_wave_end
  - module: patchpilot.fleet.run_finish
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Start the run record
  patchpilot.fleet.run_start:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_opened.run_id }}"
    scope: "{{ scope }}"
    plan_file: /var/lib/patchpilot/plans/20261127T210000Z-a1b2c3.json
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
replanned:
  description: Whether the pending hosts of a continued run were planned again.
  returned: always
  type: bool
"""
