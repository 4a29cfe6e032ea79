#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_host_final action (it runs on the controller, plugins/action/run_host_final.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_host_final
short_description: Keep a host's installed versions at the end of a patch run
version_added: 0.2.0
description:
  - Runs on the controller. Keeps the host's installed versions of its planned packages as
    C(archive/<host>/final.json), compared with the plan (as planned, as before, or neither).
  - O(installed) is the read-back, the package records of M(patchpilot.fleet.installed_packages)
    C({name, arch, version, status}) (a record whose status is not installed is left out).
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
  installed:
    description: The host's installed packages (see above).
    type: raw
    required: true
    aliases: [packages]
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
  - module: patchpilot.fleet.run_wave_gate
  - module: patchpilot.fleet.run_wave_end
  - module: patchpilot.fleet.run_finish
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Keep the host's final state
  patchpilot.fleet.run_host_final:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    installed: [{name: openssl, arch: amd64, version: 3.0.15-1~deb12u1, status: installed}]
"""

RETURN = r"""
installed:
  description: Package to installed version.
  returned: always
  type: dict
as_planned:
  description: Whether every planned package has its planned version (and every planned removal is gone).
  returned: always
  type: bool
as_before:
  description: Whether every planned package still has the version it had before the run.
  returned: always
  type: bool
off_plan:
  description: The packages not as planned.
  returned: always
  type: list
  elements: str
changed_from_before:
  description: The packages changed from before the run.
  returned: always
  type: list
  elements: str
"""
