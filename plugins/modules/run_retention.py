#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_retention action (it runs on the controller, plugins/action/run_retention.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_retention
short_description: Remove the controller's finished run directories beyond the keep rule
version_added: 0.2.0
description:
  - Runs on the controller at the end of a run. Applies O(keep) to the run directories of the
    same inventory scope as run O(run_id) (runs of other scopes are left to their own runs) and
    removes those beyond it. Never removed are the current run, a run that is not finished
    (C(running)), a run whose lock file names it. Each is checked again just before it is removed.
  - Writes what it removed and kept to the current run's C(retention.json).
  - In check mode it says what it would remove and removes nothing.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The current run.
    type: str
    required: true
  keep:
    description: The keep rule, as the plan's run settings carry it (C(settings.snapshot_keep)).
      Not set means three runs.
    type: dict
    suboptions:
      runs:
        description: Keep the newest N runs (1 to 1000).
        type: int
      days:
        description: Keep the runs younger than N days (1 to 3650).
        type: int
  now:
    description: The time to decide at (ISO 8601), instead of now.
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
  - module: patchpilot.fleet.retention_select
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Prune the finished run directories
  patchpilot.fleet.run_retention:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    keep: {runs: 3}
"""

RETURN = r"""
removed:
  description: The run directories removed (would be, in check mode), each C(id) and C(reason).
  returned: always
  type: list
  elements: dict
keep:
  description: The runs of the scope that stay, each C(id) and C(reason).
  returned: always
  type: list
  elements: dict
keep_rule:
  description: The keep rule applied.
  returned: always
  type: dict
"""
