#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the retention_record action (it runs on the controller, plugins/action/retention_record.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: retention_record
short_description: Note in the run records what retention removed of a host
version_added: 0.2.0
description:
  - Runs on the controller. Writes what was removed and what was kept to
    C(archive/<host>/retention.json) of run O(run_id) (the host's history there stays as it was
    at done), and adds a C(retention) entry, its phase unchanged, to the host's history in each
    removed run that still has a run directory (C(snapshot_removed), C(by_run) and how), so that
    a later rollback of that run can say its snapshot is gone.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The current run.
    type: str
    required: true
  host:
    description: The host; defaults to the task's host.
    type: str
  removed:
    description: The removals done (patchpilot.fleet.retention_select's C(remove)).
    type: list
    elements: dict
    default: []
  kept:
    description: What stayed (patchpilot.fleet.retention_select's C(keep)).
    type: list
    elements: dict
    default: []
  error:
    description: Retention failed with this message; it is noted instead (the host stays done,
      nothing is rolled back).
    type: str
  now:
    description: The time to record (ISO 8601), instead of now.
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
  - module: patchpilot.fleet.retention_select
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Record what retention removed
  patchpilot.fleet.retention_record:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    removed: "{{ retention.remove }}"
    kept: "{{ retention.keep }}"
"""

RETURN = r"""
host:
  description: The host.
  returned: always
  type: str
removed:
  description: The run ids whose snapshots were removed.
  returned: always
  type: list
  elements: str
noted_in:
  description: The removed runs whose run directory now records the removal.
  returned: always
  type: list
  elements: str
"""
