#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the history_purge action (it runs on the controller, plugins/action/history_purge.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: history_purge
short_description: Purge the history store's records older than a time, and record the purge
version_added: 0.2.0
description:
  - Runs on the controller. C(playbooks/purge_history.yml) calls it.
  - Removes the history store's records older than a time from the start of its hash chain, and
    writes, in the same transaction, a C(purge) record naming the range removed, the chain's new
    anchor (the hash it now starts from), who ran it (the login user, or the AWX user and job) and
    why. The chain still verifies after a purge, and an edited record still breaks it.
  - The time is O(keep_days) days back from now, or O(before); give exactly one.
  - A chain that does not verify is never purged (the purge could remove the evidence); the task
    fails and names the record where it breaks.
  - In check mode it says what it would remove and changes nothing.
options:
  state_dir:
    description: The state directory; the embedded store is its C(history.sqlite).
    type: path
    required: true
  history_store:
    description:
      - The history store (C(patchpilot_history_store)) - empty for C(history.sqlite) in O(state_dir), an
        absolute path of a SQLite file, or a C(postgresql://user:password@host/db) URL. Secret (the URL's
        password); never shown.
    type: str
  keep_days:
    description: Keep this many days back from now (at least 1); older records are removed.
    type: int
  before:
    description:
      - Remove the records before this time - an ISO date (midnight UTC) or a time with its offset
        (C(2026-01-31T00:00:00+00:00)); not in the future.
    type: str
  reason:
    description: Why the records are purged (a retention rule, a ticket); required, kept in the purge record.
    type: str
  now:
    description: The time the purge counts O(keep_days) back from (ISO 8601); default now. For tests.
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
- name: Keep one year of history
  patchpilot.fleet.history_purge:
    state_dir: /var/lib/patchpilot
    keep_days: 365
    reason: "retention: one year (CHG-1234)"

- name: Purge what is older than 2026 from the shared store
  patchpilot.fleet.history_purge:
    state_dir: /var/lib/patchpilot
    history_store: "{{ patchpilot_history_store }}"
    before: "2026-01-01"
    reason: "audit period closed"
"""

RETURN = r"""
before:
  description: The UTC time the records were removed before.
  returned: always
  type: str
  sample: "2025-12-06T13:30:00+00:00"
purged:
  description:
    - What was removed (in check mode, what would be) - C(removed_ids) (first and last id), C(count),
      C(before), C(anchor) (C(after_id), C(hash)), C(by), C(reason), and C(record) (the purge record's id;
      not in check mode); null when no record is that old.
  returned: always
  type: dict
  sample: {"removed_ids": [1, 240], "count": 240, "before": "2025-12-06T13:30:00+00:00",
           "anchor": {"after_id": 240, "hash": "9f2c..."}, "by": "alice", "reason": "retention", "record": 611}
chain:
  description: The chain check after the purge (C(ok), C(checked), C(broken_at), C(reason), C(anchor)).
  returned: always
  type: dict
store:
  description: The store purged (a URL with its password masked).
  returned: always
  type: str
  sample: /var/lib/patchpilot/history.sqlite
"""
