#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the scan_report action (it runs on the controller, plugins/action/scan_report.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: scan_report
short_description: Write the scan's asset inventory and prioritised missing updates
version_added: 0.1.0
description:
  - Runs on the controller, once, after every host ran M(patchpilot.fleet.asset_facts) and
    M(patchpilot.fleet.missing_updates). Reads each host's registered results and CMDB
    metadata from the inventory, joins them, flags end of life, scores and orders every
    host x update, and writes C(assets.json), C(assets.csv), C(updates.json) and
    C(updates.csv) (sorted by priority) into O(output_dir), atomically, readable by owner and
    group only.
  - In the CSV files every cell is quoted, and a text cell that starts with C(=), C(+), C(-),
    C(@), a tab, a carriage return or NUL gets a leading C(') so that no spreadsheet takes it
    for a formula (OWASP's advice against CSV injection); the JSON files keep the text as it is.
  - Keeps the date each update was first seen in the history store (O(history_store), with
    O(first_seen_file); an existing JSON file is imported once; the JSON file while the store cannot
    be opened) - without O(first_seen_file), in C(first_seen.json) in O(output_dir). Later scans keep
    that date, and a scan of part of the fleet keeps the others'.
  - A host that failed or was unreachable is listed with its reason; the others are reported.
  - Each asset row carries the host's C(machine_id) from M(patchpilot.fleet.asset_facts) (null with
    C(machine_id_reason) when the host has none), the machine's identity across renames and reinstalls.
options:
  output_dir:
    description: Folder for the report files (created with mode 0750).
    type: path
    required: true
  hosts:
    description: Hosts to report. Defaults to every host of the play, failed and unreachable ones included.
    type: list
    elements: str
  policy_file:
    description:
      - The policy file (docs/policy.md). The updates are ranked with its C(priority) section
        and its C(emergency) rules, as the plan ranks them. Without it, the defaults.
    type: path
  policy:
    description:
      - Prioritisation settings laid over the policy file's C(priority) section, key by key; see
        the C(patchpilot.fleet.prioritise) filter (SLA days per severity, default severity per
        classification, emergency CVEs and packages, weights).
    type: dict
    default: {}
  today:
    description: Scan date (YYYY-MM-DD) instead of today, for reproducible reports.
    type: str
  cmdb_var:
    description: Name of the inventory variable holding the host's CMDB metadata.
    type: str
    default: patchpilot_asset
extends_documentation_fragment:
  - action_common_attributes
  - patchpilot.fleet.scan_results
  - patchpilot.fleet.scan_results.tracker
attributes:
  check_mode:
    support: full
    details: Writes the report files in check mode too; it changes no host.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Write the scan report
  patchpilot.fleet.scan_report:
    output_dir: /var/lib/patchpilot/scan
  run_once: true
"""

RETURN = r"""
paths:
  description: The files written.
  returned: success
  type: dict
  sample: {assets.json: /var/lib/patchpilot/scan/assets.json}
summary:
  description: Counts of hosts by scan status, of update rows, emergencies and outdated OS releases.
  returned: success
  type: dict
  sample: {hosts: 6, scanned: 5, failed: 0, unreachable: 1, updates: 40, emergency: 0, outdated_os: 0}
problems:
  description: Hosts that could not be scanned, with the reason.
  returned: success
  type: dict
  sample: {web03: "unreachable: no scan result (host unreachable)"}
top:
  description: The ten highest-priority rows.
  returned: success
  type: list
  elements: dict
first_seen:
  description:
    - Where the first-seen dates went - C(store) true when the history store keeps them (false - the
      JSON file, see O(first_seen_file)), and C(imported) the JSON files imported into the store this
      time, with their number of dates.
  returned: success
  type: dict
  sample: {store: true, imported: {/var/lib/patchpilot/first_seen.json: 120}}
"""
