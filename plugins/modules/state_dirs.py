#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the state_dirs action (it runs on the controller, plugins/action/state_dirs.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: state_dirs
short_description: Find and make the controller's state and report directories
version_added: 0.2.0
description:
  - Runs on the controller, once per playbook. Says where the run records, run locks and
    plans (the state directory) and the reports live, makes the state and report
    directories (mode 0700, missing parents too) and refuses one that group or others
    may write to, or that another user than the controller's (or root) owns.
  - "The state directory is the first of: O(state_dir); the environment variable
    E(PATCHPILOT_STATE_DIR); C(/var/lib/patchpilot) when the controller runs as root;
    C($XDG_STATE_HOME/patchpilot); C(~/.local/state/patchpilot) (home from the password
    database when E(HOME) is unset). Nothing depends on the current directory."
  - "The report directory is O(report_dir), E(PATCHPILOT_REPORT_DIR) or C(<state dir>/reports);
    scan reports go to its C(scan/)."
  - Relative paths are refused.
  - "Upgrade from 0.1: the C(runs/) (with its C(locks/)), C(plans/) and C(scan/) of 0.1's
    C(reports/) folder (O(legacy_dir), else C($PWD/reports), C(/reports) when PWD is unset)
    are moved once into the new directories, with a warning per move; a marker file in the
    state directory records it. A name that exists on both sides refuses the upgrade:
    nothing is moved, nothing overwritten."
options:
  state_dir:
    description: The state directory (absolute); the playbooks pass C(patchpilot_state_dir).
    type: str
  report_dir:
    description: The report directory (absolute); the playbooks pass C(patchpilot_report_dir).
    type: str
  run_base:
    description: The run directories, default C(<state dir>/runs); the playbooks pass C(patchpilot_run_base).
    type: str
  plan_dir:
    description: The plans, default C(<state dir>/plans); the playbooks pass C(patchpilot_plan_dir).
    type: str
  legacy_dir:
    description: 0.1's C(reports/) folder to upgrade from; the playbooks pass C(patchpilot_legacy_dir).
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: partial
    details: The directories are made; the upgrade from 0.1 is only reported.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Find the state and report directories
  patchpilot.fleet.state_dirs:
    state_dir: "{{ patchpilot_state_dir | default(omit) }}"
    report_dir: "{{ patchpilot_report_dir | default(omit) }}"
  run_once: true
  register: dirs
"""

RETURN = r"""
state_dir:
  description: The state directory.
  returned: success
  type: str
  sample: /var/lib/patchpilot
report_dir:
  description: The report directory.
  returned: success
  type: str
  sample: /var/lib/patchpilot/reports
run_base:
  description: The run directories (their locks in its C(locks/)).
  returned: success
  type: str
  sample: /var/lib/patchpilot/runs
plan_dir:
  description: The plans.
  returned: success
  type: str
  sample: /var/lib/patchpilot/plans
scan_dir:
  description: The scan reports.
  returned: success
  type: str
  sample: /var/lib/patchpilot/reports/scan
migrated:
  description: What the upgrade from 0.1 moved (in check mode, would move), empty when nothing.
  returned: success
  type: list
  elements: dict
  sample: [{"item": "runs", "from": "/srv/ops/reports/runs", "to": "/var/lib/patchpilot/runs"}]
made:
  description: The state and report directories made by this call.
  returned: success
  type: list
  elements: str
  sample: [/var/lib/patchpilot]
"""
