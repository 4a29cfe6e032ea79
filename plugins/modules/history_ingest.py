#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the history_ingest action (it runs on the controller, plugins/action/history_ingest.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: history_ingest
short_description: Feed a patch run or a scan to the history store
version_added: 0.3.0
description:
  - Runs on the controller. Reads a run directory (C(run.json), C(plan.json), the hosts' phase
    histories, their final read-back) or a scan report folder and appends its records (run,
    asset, host, update lifecycle states, exceptions; C(docs/history.md)) to the history store.
  - Idempotent; feeding the same run or scan twice adds nothing.
  - The store is named by the variable C(patchpilot_history_store) (not an option, so that it
    never shows in a task's arguments); empty for the embedded SQLite file
    C(<state_dir>/history.sqlite), an absolute path for another SQLite file, or a
    C(postgresql://) URL. Its value is a secret; it is never returned or printed.
  - A store that cannot be opened or written never fails the task. The records go to
    C(<state_dir>/history-buffer.jsonl) (mode 0600), one warning starting
    C(HISTORY STORE UNAVAILABLE) says why, and the next feed that reaches the store flushes
    the buffer first (then removes it).
  - The context comes from the controller; the user (the AWX user, else the login user), the
    AWX job (C(awx_job_id), C(awx_user_name), C(awx_project_revision), C(awx_inventory_name); the
    C(tower_*) names too), the inventory sources, the playbook, the controller's host name and
    the project commit (C(git rev-parse HEAD) in the playbook's folder, else the AWX project
    revision). The approver and the change ticket come from the plan. Asset facts come from what
    C(playbooks/scan.yml) registered on each host (C(scan_asset)) and the inventory's CMDB fields.
options:
  state_dir:
    description:
      - The state directory (the buffer and the embedded store live there).
      - Default, as M(patchpilot.fleet.state_dirs) finds it without options; C(PATCHPILOT_STATE_DIR),
        else C(/var/lib/patchpilot) as root, else C($XDG_STATE_HOME/patchpilot) or C(~/.local/state/patchpilot)
        (C(docs/state.md)).
    type: path
  run_dir:
    description: The run directory to feed.
    type: path
  run_id:
    description: The run to feed, with O(base_dir), instead of O(run_dir).
    type: str
  base_dir:
    description: Folder of the run directories, with O(run_id).
    type: path
  scan_dir:
    description:
      - A scan report folder (C(assets.json), C(updates.json) of M(patchpilot.fleet.scan_report)) to
        feed instead of a run; asset records and C(missing) update records with no run.
    type: path
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the records are read and counted, nothing is written.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: patchpilot.fleet.run_finish
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Record the run in the history store
  patchpilot.fleet.history_ingest:
    state_dir: /var/lib/patchpilot
    run_dir: /var/lib/patchpilot/runs/20261127T210000Z-a1b2c3

- name: Record a scan
  patchpilot.fleet.history_ingest:
    state_dir: /var/lib/patchpilot
    scan_dir: /var/lib/patchpilot/reports/scan
"""

RETURN = r"""
records:
  description: How many records the run or scan has.
  returned: always
  type: int
  sample: 42
appended:
  description: How many of them the store did not hold yet and now does.
  returned: always
  type: int
  sample: 42
flushed:
  description: How many buffered records of earlier feeds reached the store.
  returned: always
  type: int
  sample: 0
buffered:
  description: How many records wait in the buffer (the store was unavailable).
  returned: always
  type: int
  sample: 0
store_ok:
  description: Whether the store was reached (null in check mode).
  returned: always
  type: bool
error:
  description: Why the store was not reached (never with the store URL's password).
  returned: when not in check mode
  type: str
buffer:
  description: The buffer file.
  returned: when not in check mode
  type: str
  sample: /var/lib/patchpilot/history-buffer.jsonl
source:
  description: The run directory or scan folder fed.
  returned: always
  type: str
store:
  description: The SQLite store's path, or a note that a URL was used (the URL is never shown).
  returned: always
  type: str
"""
