#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_rollback_record action (it runs on the controller, plugins/action/run_rollback_record.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_rollback_record
short_description: Record a rollback of a host after its run ended
version_added: 0.2.0
description:
  - Runs on the controller. C(playbooks/rollback.yml) calls it after rolling a host of a finished run back.
  - The host's record moves to C(rolled_back) when the versions are back (healthy or not, the two facts
    C(versions_restored) and C(healthy) kept apart), else to C(failed). The history entry's detail holds the
    rollback's record with C(later) true, C(by) (the user, or the AWX user and job) and C(source).
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The finished run.
    type: str
    required: true
  host:
    description: The host; default the task's host.
    type: str
  detail:
    description: The rollback's record (the C(patchpilot.fleet.rollback_record) filter's answer, or what failed).
    type: dict
    required: true
  source:
    description: What the host was rolled back from.
    type: str
  now:
    description: The time of the record (ISO 8601); default now.
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
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Record the later rollback
  patchpilot.fleet.run_rollback_record:
    base_dir: /var/lib/patchpilot/runs
    run_id: 20261127T210000Z-a1b2c3
    detail: {versions_restored: true, healthy: true}
    source: the host's cache
"""

RETURN = r"""
phase: {description: The host's phase now (rolled_back or failed)., returned: success, type: str}
detail: {description: The detail recorded., returned: success, type: dict}
"""
