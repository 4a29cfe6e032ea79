#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the retention_select action (it runs on the controller, plugins/action/retention_select.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: retention_select
short_description: Say which of a host's older snapshots retention removes
version_added: 0.2.0
description:
  - Runs on the controller and changes nothing. Reads the run directories under O(base_dir)
    (each run's C(run.json), the lock files, and the host's C(archive/<host>/snapshot.json)),
    adds the host's C(/var/cache/patchpilot/runs/<id>) folders (O(host_dirs)), and applies the
    keep rule O(keep) (plugins/module_utils/retention.py).
  - A snapshot is kept while either rule holds (the newest O(keep.runs) runs, the current one
    counted; younger than O(keep.days) days). Never removed, whatever the rule, are the current run
    O(run_id), a run that is not finished, a run whose lock file names it, a host folder no run
    directory knows.
  - Each removal says how its provider removes it; a stored record that cannot be removed
    safely (a btrfs path not of its run, an LVM snapshot named as its origin) fails the task.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The current run, whose snapshot is always kept.
    type: str
    required: true
  host:
    description: The host; defaults to the task's host.
    type: str
  keep:
    description: The keep rule, as the plan's host settings carry it (C(settings.snapshot_keep)).
      Not set means three runs.
    type: dict
    suboptions:
      runs:
        description: Keep the newest N runs' snapshots (1 to 1000).
        type: int
      days:
        description: Keep the snapshots younger than N days (1 to 3650).
        type: int
  host_dirs:
    description: The host's folders under C(/var/cache/patchpilot/runs), each C(path) and
      C(mtime) (epoch seconds), as ansible.builtin.find returns them.
    type: list
    elements: dict
    default: []
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
  - module: patchpilot.fleet.retention_record
  - module: patchpilot.fleet.run_retention
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Work out the host's older snapshots to remove
  patchpilot.fleet.retention_select:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    keep: {runs: 1}
    host_dirs: "{{ found.files }}"
  register: retention
"""

RETURN = r"""
host:
  description: The host.
  returned: always
  type: str
keep_rule:
  description: The keep rule applied, C(runs) and C(days) (null when not in force).
  returned: always
  type: dict
  sample: {runs: 1, days: null}
remove:
  description: What to remove, newest first; the parts a provider does not use are null.
  returned: always
  type: list
  elements: dict
  sample:
    - run_id: 20261127T210000Z-a1b2c3
      provider: btrfs
      reason: not one of the newest 1 runs
      host_dir: /var/cache/patchpilot/runs/20261127T210000Z-a1b2c3
      btrfs_argv:
        - [btrfs, property, set, -ts, /srv/.patchpilot-snapshots/data-20261127T210000Z-a1b2c3, ro, "false"]
        - [btrfs, subvolume, delete, /srv/.patchpilot-snapshots/data-20261127T210000Z-a1b2c3]
      lvm_argv: null
      aws_ebs: null
keep:
  description: What stays, each C(id) and C(reason).
  returned: always
  type: list
  elements: dict
  sample: [{id: 20261206T090000Z-d4e5f6, reason: the current run}]
"""
