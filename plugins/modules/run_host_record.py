#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_host_record action (it runs on the controller, plugins/action/run_host_record.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_host_record
short_description: Move a host of a patch run to its next phase
version_added: 0.2.0
description:
  - Runs on the controller. Moves the host (O(host), default the task's host) of run O(run_id)
    to O(phase) and adds O(detail) to its history (C(hosts/<host>.json)).
  - A finished host (done, rolled back, abandoned) is not moved; a failed host may only be
    recorded failed again or rolled back.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The run's id, a file name without C(/), white space, NUL or a leading dot.
    type: str
    required: true
  host:
    description: The host; defaults to the task's host.
    type: str
  phase:
    description: The host's new phase.
    type: str
    required: true
    choices: [pending, preflight, staged, snapshotted, patched, verified, done, failed, rolled_back]
  detail:
    description: What to keep with the phase.
    type: raw
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
  - module: patchpilot.fleet.run_host_final
  - module: patchpilot.fleet.run_wave_gate
  - module: patchpilot.fleet.run_wave_end
  - module: patchpilot.fleet.run_finish
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Record a host as patched
  patchpilot.fleet.run_host_record:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    phase: patched
    detail: {rc: 0}
"""

RETURN = r"""
host:
  description: The host recorded.
  returned: always
  type: str
phase:
  description: Its phase now.
  returned: always
  type: str
"""
