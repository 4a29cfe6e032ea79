#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_lock action (it runs on the controller, plugins/action/run_lock.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_lock
short_description: Take or release the run lock of an inventory scope
version_added: 0.1.0
description:
  - Runs on the controller. One lock per scope (inventory and limit) stops two runs (cron,
    AWX, a person) from patching the same hosts at once; a second run fails naming the
    holder.
  - The lock belongs to the ansible-playbook process. A lock whose process is gone from
    this machine is stale; it is taken over, with a warning naming the dead run, only when
    that run is the scope's unfinished run that this run continues, or has nothing left to
    do. A lock taken on another machine is always held; C(playbooks/break_lock.yml)
    (M(patchpilot.fleet.run_lock_break)) breaks it by hand.
  - The lock names its owner - the process, the machine, the start time, the run and the
    user (the AWX user and job id when AWX passes C(awx_user_name) or C(tower_user_name)
    and C(awx_job_id), else the login user).
options:
  state:
    description: V(acquired) takes the lock, V(released) gives it back (only with its O(token)).
    type: str
    choices: [acquired, released]
    default: acquired
  base_dir:
    description: Folder of the run directories; the locks are in its C(locks/).
    type: path
    required: true
  scope:
    description: The scope, as text.
    type: str
    required: true
  run_id:
    description: The run taking the lock.
    type: str
  token:
    description: The token returned when the lock was taken (O(state=released)).
    type: str
  take_over_stale:
    description: Take over a stale lock of the run this run continues.
    type: bool
    default: true
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
- name: Take the lock
  patchpilot.fleet.run_lock:
    base_dir: /var/lib/patchpilot/runs
    scope: "inventory:/etc/ansible/hosts|limit:all"
  register: lock
"""

RETURN = r"""
path:
  description: The lock file.
  returned: always
  type: str
token:
  description: The lock's token, needed to release it.
  returned: O(state=acquired)
  type: str
owner:
  description: The lock's owner record (pid, host, started, run_id, scope, user, job_id).
  returned: O(state=acquired)
  type: dict
"""
