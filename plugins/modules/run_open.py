#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_open action (it runs on the controller, plugins/action/run_open.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_open
short_description: Name a patch run and say which plan drives it
version_added: 0.2.0
description:
  - Runs on the controller, first in C(playbooks/patch.yml), before any host is contacted.
  - Makes a run id, or finds the newest unfinished run of O(scope) to continue (O(continue_interrupted)).
  - A continued run's plan must have been made under the policy the run is given now (the
    policy digest, C(plugins/module_utils/plancheck.py)); a reviewed plan (O(plan_file)) too,
    and it must be younger than the policy's C(plan.max_age_hours) (default 72). Otherwise the
    task fails with a message naming both digests (or the plan's age and the limit), unless
    O(replan) is true; then a reviewed plan is replaced by a fresh plan (RV(make_plan)), and a
    continued run keeps its finished hosts and replans its pending ones (M(patchpilot.fleet.run_start)).
  - Writes nothing.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  scope:
    description: The run's scope (inventory and limit); one unfinished run per scope is continued.
    type: str
    required: true
  policy:
    description: The validated policy the run is given (M(patchpilot.fleet.policy_check)'s RV(patchpilot.fleet.policy_check#module:policy)).
    type: dict
    required: true
  plan_file:
    description: A reviewed plan to run instead of planning; empty for none.
    type: str
    default: ""
  replan:
    description: Replan instead of refusing a plan made under another policy, or a reviewed plan that is too old.
    type: bool
    default: false
  continue_interrupted:
    description: Look for an unfinished run of the scope to continue (false in check mode).
    type: bool
    default: true
  now:
    description: The time to act at (ISO 8601), instead of now.
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: patchpilot.fleet.run_start
  - module: patchpilot.fleet.run_host_record
  - module: patchpilot.fleet.run_host_final
  - module: patchpilot.fleet.run_wave_gate
  - module: patchpilot.fleet.run_wave_end
  - module: patchpilot.fleet.run_finish
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Name the run
  patchpilot.fleet.run_open:
    base_dir: /var/lib/patchpilot/runs
    scope: "inventory:/etc/patchpilot/fleet.yml|limit:all"
    policy: "{{ checked_policy.policy }}"
    plan_file: /var/lib/patchpilot/plans/20261127T210000Z-a1b2c3.json
  register: run_opened
"""

RETURN = r"""
run_id:
  description: The run's id (the continued run's, or RV(new_id)).
  returned: always
  type: str
new_id:
  description: A new run id (also the id of a fresh plan made for a continued run).
  returned: always
  type: str
resume:
  description: Whether an interrupted run is continued.
  returned: always
  type: bool
plan_file:
  description: The reviewed plan to start the run from; empty when a plan is to be made.
  returned: always
  type: str
make_plan:
  description: Whether the playbook must scan and plan (a new run without a reviewed plan, or a replan).
  returned: always
  type: bool
replan:
  description: Whether a plan is made again because the policy changed or the reviewed plan is too old.
  returned: always
  type: bool
policy_digest:
  description: The digest of the policy the run is given.
  returned: always
  type: str
message:
  description: Why the run replans, or null.
  returned: always
  type: str
"""
