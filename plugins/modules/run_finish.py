#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_finish action (it runs on the controller, plugins/action/run_finish.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_finish
short_description: Close a patch run's record
version_added: 0.2.0
description:
  - Runs on the controller, last in C(playbooks/patch.yml).
  - Closes the run as C(completed) (every host done) or C(failed) (a host failed or rolled
    back, or the run halted) and writes C(summary.json) with every host's final state; a run
    with hosts still to do and not halted stays open (state C(running)) for a rerun.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The run's id, a file name without C(/), white space, NUL or a leading dot.
    type: str
    required: true
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
  - module: patchpilot.fleet.run_wave_gate
  - module: patchpilot.fleet.run_wave_end
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Close the run record
  patchpilot.fleet.run_finish:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
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
state:
  description: The run's state now (completed, failed, or running when it stays open).
  returned: always
  type: str
final:
  description: Host to its final state (M(patchpilot.fleet.run_host_final)), when the run closed.
  returned: always
  type: dict
"""
