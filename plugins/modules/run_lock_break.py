#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_lock_break action (it runs on the controller, plugins/action/run_lock_break.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_lock_break
short_description: List the run locks, or break a stale one by hand
version_added: 0.2.0
description:
  - Runs on the controller, on the locks of C(playbooks/patch.yml) (C(<base_dir>/locks/*.lock)).
    C(playbooks/break_lock.yml) calls it.
  - Without O(lock) it lists the locks and their owners (run, user, AWX job, pid, machine, start
    time, scope) and changes nothing.
  - With O(lock) (a run id, a scope key or a lock file name) and O(reason) it breaks that lock,
    unless its owner is a live process of this machine. A lock taken on another machine (a killed
    AWX job's container) cannot be checked from here and is broken on the word of the person
    asking. Who broke it (user, AWX job, machine), when, why and the old owner record are
    appended to C(<base_dir>/locks/broken.jsonl) (mode 0600, only ever appended to) and, when the
    lock's run directory exists, added as a C(lock_broken) event to its C(run.json) C(events).
  - An unknown or ambiguous lock name, a missing reason or a live owner is an error and nothing
    changes. In check mode it says what it would break.
options:
  base_dir:
    description: Folder of the run directories; the locks are in its C(locks/).
    type: path
    required: true
  lock:
    description: The lock to break - a run id, a scope key or a lock file name (with or without C(.lock)).
    type: str
  reason:
    description: Why the lock is broken; required with O(lock), kept in the record.
    type: str
  now:
    description: The time of the record (ISO 8601); default now. For tests.
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
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: List the locks
  patchpilot.fleet.run_lock_break:
    base_dir: /var/lib/patchpilot/runs

- name: Break the lock of a run whose AWX job was killed
  patchpilot.fleet.run_lock_break:
    base_dir: /var/lib/patchpilot/runs
    lock: 20261127T210000Z-a1b2c3
    reason: "AWX job 4711 was killed with its container"
"""

RETURN = r"""
locks:
  description: The locks left, each with C(lock) (file name), C(key), C(owner) (the lock file's record) and C(says) (one line).
  returned: always
  type: list
  elements: dict
broken:
  description:
    - The record of the broken lock (C(lock), C(scope_key), C(broken_at), C(broken_by) with C(user), C(job_id)
      and C(host), C(reason), C(owner_where), C(owner)), as written to C(broken.jsonl); null when listing.
  returned: always
  type: dict
record_path:
  description: The C(broken.jsonl) file the record was appended to.
  returned: when a lock is broken
  type: str
run_event:
  description: The C(run.json) that got the C(lock_broken) event, null when the lock's run directory does not exist.
  returned: when a lock is broken
  type: str
"""
