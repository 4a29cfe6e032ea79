#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the windows_missing_updates action plugin (plugins/action/)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: windows_missing_updates
short_description: List the updates a Windows host is missing, as normalised update records
version_added: 0.1.0
description:
  - Searches Windows Update (or the host's WSUS server) for the updates the host is missing
    with M(ansible.windows.win_updates) in search mode, and returns one update record per
    update, in the shape M(patchpilot.fleet.missing_updates) returns for Linux and macOS hosts.
  - Never downloads, installs or reboots anything. The result is normalised on the controller,
    so the host needs nothing beyond what M(ansible.windows.win_updates) needs.
  - Each record is named after the update's first KB (C(KB5046616)), or after its title when it
    has none (drivers). C(installed_version) is always null, C(candidate_version) is the version
    the title carries (definition updates, drivers), else the KB, else the update's GUID.
  - C(classification) follows Microsoft's classification category of the update, by Microsoft's
    own definitions (U(https://support.microsoft.com/en-us/help/824684)).
    V(security) for Security Updates; V(bugfix) for Critical Updates (critical fixes of
    non-security bugs), Updates and Update Rollups; V(enhancement) for Feature Packs, Service
    Packs and Upgrades; V(other) for Definition Updates, Drivers, Tools and anything else.
  - C(severity) is always null. M(ansible.windows.win_updates) does not return the MSRC
    severity the Windows Update Agent knows. C(reboot) is null for the same reason; the
    host's own pending reboot is in RV(reboot_required).
  - Updates M(ansible.windows.win_updates) filters out (hidden, rejected, outside
    O(category_names)) give no records; RV(filtered_count) counts them.
options:
  category_names:
    description:
      - Categories to search, as in M(ansible.windows.win_updates) (C(Security Updates),
        C(Critical Updates), C(Definition Updates), ..., or a product such as C(Windows Server 2019)).
      - The default V(*) finds every missing update, whatever its category.
    type: list
    elements: str
    default: ['*']
  accept_list:
    description:
      - Only updates whose title or KB matches one of these PowerShell regular expressions.
    type: list
    elements: str
  reject_list:
    description:
      - Leave out updates whose title or KB matches one of these PowerShell regular expressions.
    type: list
    elements: str
  skip_optional:
    description:
      - Leave out optional updates (those Microsoft marks BrowseOnly).
    type: bool
    default: false
  server_selection:
    description:
      - The update source to search, as in M(ansible.windows.win_updates).
      - V(default) is the host's configured source (Windows Update, Microsoft Update or WSUS),
        V(managed_server) its WSUS server, V(windows_update) Microsoft's catalog.
    type: str
    choices: [default, managed_server, windows_update]
    default: default
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: The search runs in check mode too; it changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - The connection user must be a member of the host's local Administrators group, as for
    M(ansible.windows.win_updates).
  - A search can take several minutes; Windows Update's first search after a boot is the slowest.
seealso:
  - module: ansible.windows.win_updates
  - module: patchpilot.fleet.missing_updates
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Find the updates a Windows host is missing
  patchpilot.fleet.windows_missing_updates:
  register: scan

- name: Only security updates, from the WSUS server, leaving out the MSRT
  patchpilot.fleet.windows_missing_updates:
    category_names: [Security Updates]
    server_selection: managed_server
    reject_list: ['KB890830']
  register: scan

- name: Show the missing security updates
  ansible.builtin.debug:
    msg: "{{ scan.updates | selectattr('classification', 'equalto', 'security') | map(attribute='name') | list }}"
"""

RETURN = r"""
backend:
  description: The backend that answered.
  returned: always
  type: str
  sample: windows
updates:
  description:
    - One record per missing update, in the order of C(effect), then C(name).
    - The fields are those of every patchpilot update record (C(plugins/module_utils/records.py)).
    - C(source.origin) is C(Microsoft), C(source.label) the update's classification category,
      C(source.suite) its first product category, C(source.repository) null.
  returned: success
  type: list
  elements: dict
  sample:
    - name: KB5046616
      installed_version: null
      candidate_version: KB5046616
      arch: x64
      source: {repository: null, origin: Microsoft, label: Security Updates,
               suite: Microsoft Server operating system-21H2}
      classification: security
      severity: null
      advisories: [KB5046616]
      cves: []
      reboot: null
      first_seen: null
      released: null
      effect: upgrade
      backend: windows
summary:
  description: Counts of the records in total, by effect and by classification.
  returned: success
  type: dict
  sample: {total: 5, upgrade: 5, new_dependency: 0, removal: 0, kept_back: 0,
           security: 1, bugfix: 2, enhancement: 0, other: 2, third_party: 0}
reboot_required:
  description: Whether the host waits for a reboot to finish installing earlier updates.
  returned: success
  type: bool
  sample: false
filtered_count:
  description:
    - How many found updates were left out (hidden on the host, rejected by O(accept_list) or
      O(reject_list), outside O(category_names), optional with O(skip_optional)).
  returned: success
  type: int
  sample: 2
"""
