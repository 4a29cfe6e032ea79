#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the plan action (it runs on the controller, plugins/action/plan.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: plan
short_description: Turn the policy and every host's scan into the run's plan
version_added: 0.1.0
description:
  - Runs on the controller, once, after every host ran M(patchpilot.fleet.asset_facts) and
    M(patchpilot.fleet.missing_updates). Decides for every host in scope its wave (0 is the
    canary), the exact package versions it will receive, what it excludes and why, which
    updates are refused (removals, unapproved new dependencies), whether a reboot is
    expected, the maintenance window of each wave and the failure budget.
  - Writes the plan as JSON into O(output_dir) (C(<run id>.json) and C(latest.json)). The
    approved set is fixed in the plan, so canary and every wave get the same versions.
  - With the policy's C(emergency.cves), each host's plan entry says per CVE whether a planned update
    fixes it, a pending one not in the plan does, or none does - and, with O(security_tracker), whether
    the tracker lists the host's release as fixed (C(not_affected)) or open.
options:
  policy:
    description: Path of the policy file on the controller (checked as M(patchpilot.fleet.policy_check) does).
    type: str
  output_dir:
    description: Folder for the plan files.
    type: path
    required: true
  hosts:
    description: Hosts in scope. Defaults to every host of the play.
    type: list
    elements: str
  now:
    description: The planning time (ISO 8601 with an offset) instead of now, for reproducible plans.
    type: str
  run_id:
    description: The run id to use instead of a new one.
    type: str
  overrides:
    description:
      - Policy keys laid over the policy file before it is checked (mappings merge key by
        key, anything else replaces). C(playbooks/emergency.yml) uses it.
    type: dict
    default: {}
  cmdb_var:
    description:
      - Variable holding each host's CMDB row (what the M(patchpilot.fleet.assets) inventory plugin sets);
        a canary chosen by C(rollout.canary.cover) reads its columns (C(role), ...).
    type: str
    default: patchpilot_asset
  approved_by:
    description:
      - The person approving the plan (C(-e patchpilot_approved_by=NAME)), recorded with the time in the
        plan's C(approval) when the plan holds updates a person approved (by name, an emergency, a new
        dependency let in); a name the policy's C(approvers) does not list is refused with the list.
        This is a record for the audit, not access control.
    type: str
requirements:
  - jsonschema (Python library, on the controller; the policy is checked against its JSON Schema)
extends_documentation_fragment:
  - action_common_attributes
  - patchpilot.fleet.scan_results
  - patchpilot.fleet.scan_results.tracker
attributes:
  check_mode:
    support: full
    details: The plan is written in check mode too; no host changes.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Make the plan
  patchpilot.fleet.plan:
    policy: /etc/patchpilot/policy.yml
    output_dir: /var/lib/patchpilot/plans
  run_once: true
"""

RETURN = r"""
path:
  description: The plan file written.
  returned: success
  type: str
run_id:
  description: The run's id.
  returned: success
  type: str
summary:
  description: Counts of hosts, waves, packages, exclusions and refusals.
  returned: success
  type: dict
budget:
  description: The failure budget for the run, as an absolute number of hosts.
  returned: success
  type: dict
waves:
  description: The waves with their hosts and windows.
  returned: success
  type: list
  elements: dict
"""
