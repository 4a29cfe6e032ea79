#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_close action (it runs on the controller, plugins/action/run_close.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_close
short_description: Close a patch run that cannot go on
version_added: 0.1.0
description:
  - Runs on the controller, on the run directories of C(playbooks/patch.yml)
    (C(<base_dir>/<run_id>/), see C(plugins/module_utils/runrecord.py)).
    C(playbooks/close_run.yml) calls it.
  - Ends a run that is still C(running) (a wave whose maintenance window is over, a plan
    nobody wants to carry on) as C(aborted). Each host not finished (not C(done), C(failed) or
    C(rolled_back)) becomes C(abandoned), its history naming the phase it was in, who closed
    the run and why; the hosts already finished keep their records. C(run.json) keeps
    C(closed) (C(by), C(reason), C(at), C(abandoned)) and C(summary.json) is written.
  - Afterwards the run is no longer unfinished, so the next C(playbooks/patch.yml) of the
    scope starts a new run instead of resuming it.
  - The run lock of the run's scope - held by a live run (or on another machine, or
    unreadable), closing is refused; stale (its owner gone) and taken by this run, it is
    removed; stale and taken by another run, it is left for the next run to take over.
  - A run that ended already (C(completed), C(failed), C(aborted)), or an unknown run id, is
    an error and nothing changes.
options:
  base_dir:
    description: Folder of the run directories (C(patchpilot_run_base) of C(playbooks/patch.yml)).
    type: path
    required: true
  run_id:
    description:
      - The run to close. Without it, the newest unfinished run of O(scope).
    type: str
  scope:
    description: The scope (inventory and limit, as C(playbooks/patch.yml) names it) whose unfinished run to close when O(run_id) is not given.
    type: str
  reason:
    description: Why the run is closed, kept in the record.
    type: str
    default: closed by hand
  by:
    description: Who closes it, kept in the record; default the controller's user and machine (C(user@machine)).
    type: str
  now:
    description: The time to act at (ISO 8601), instead of now.
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the result says what would be done.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Close a run whose next wave's window has passed
  patchpilot.fleet.run_close:
    base_dir: /var/lib/patchpilot/runs
    run_id: 20261127T210000Z-a1b2c3
    reason: the Saturday window was missed; replanned as CHG-1234
"""

RETURN = r"""
run_id:
  description: The run closed.
  returned: success
  type: str
  sample: 20261127T210000Z-a1b2c3
run_dir:
  description: Its run directory.
  returned: success
  type: str
state:
  description: The run's state afterwards.
  returned: success
  type: str
  sample: aborted
abandoned:
  description: The hosts that were not finished and are now C(abandoned), in wave order.
  returned: success
  type: list
  elements: str
  sample: [db1, db2]
kept:
  description: The hosts already finished, with their phase, left as they were.
  returned: success
  type: dict
  sample: {web1: done}
hosts_to_check:
  description: Abandoned hosts whose snapshot was taken or packages installed (C(snapshotted), C(patched), C(verified)) - look at them.
  returned: success
  type: list
  elements: str
lock:
  description: What was done with the scope's run lock (C(action) none, remove or keep, and C(reason)).
  returned: success
  type: dict
closed:
  description: The record of the closing (C(by), C(reason), C(at), C(abandoned)).
  returned: success
  type: dict
phases:
  description: Host to phase after closing.
  returned: success and not check mode
  type: dict
"""
