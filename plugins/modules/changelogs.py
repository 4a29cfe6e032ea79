#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the changelogs action (it runs on the controller, plugins/action/changelogs.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: changelogs
short_description: Keep Debian changelogs in the controller's cache and say what each apt update fixes
version_added: 0.2.0
description:
  - Runs on the controller, once, between the hosts' M(patchpilot.fleet.deb_changelogs) calls of a scan.
  - With O(state=planned), reads each host's resolved packages (O(resolved_var)) and returns in
    RV(read) which host reads which changelog the cache in O(cache_dir) does not hold yet - one host
    per source package version, the reads spread over the hosts.
  - With O(state=stored), keeps what the hosts read (O(extracted_var)) in the cache, then returns in
    RV(security), per host and apt upgrade, what the changelog entries between the installed and
    the candidate version say - CVE ids, DSA/DLA ids, the highest urgency and its severity, the
    candidate's release date - or V(unknown) where nothing could be learned.
  - The cache holds one file per source package version (mode 0600 in a 0700 folder); a changelog
    that could not be found is tried again a day later.
options:
  state:
    description: V(planned) before the hosts read, V(stored) after.
    type: str
    choices: [planned, stored]
    required: true
  cache_dir:
    description: The cache folder (created 0700; refused when others may write it).
    type: path
    required: true
  hosts:
    description: The hosts to read; default the play's hosts.
    type: list
    elements: str
  resolved_var:
    description: The variable holding each host's M(patchpilot.fleet.deb_changelogs) C(state=resolve) result.
    type: str
    default: scan_sources
  extracted_var:
    description: The variable holding each host's M(patchpilot.fleet.deb_changelogs) C(state=extracted) result.
    type: str
    default: scan_changelogs
  updates_var:
    description: The variable holding each host's M(patchpilot.fleet.missing_updates) result.
    type: str
    default: scan_updates
  severities:
    description:
      - Urgency to severity. Default the policy's C(scan.urgency_severity) when O(policy) is given, else low,
        medium and high as themselves, emergency and critical as critical.
    type: dict
  policy:
    description: Path of the policy file (checked as M(patchpilot.fleet.policy_check) does), for its C(scan.urgency_severity).
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Which host reads which changelog
  patchpilot.fleet.changelogs:
    state: planned
    cache_dir: /var/lib/patchpilot/changelogs
  run_once: true
  register: changelog_reads
"""

RETURN = r"""
read:
  description: "With O(state=planned), C({host: [package]}) to pass to M(patchpilot.fleet.deb_changelogs) C(state=extracted)."
  returned: state is planned
  type: dict
security:
  description: "With O(state=stored), C({host: {package: info}}) (see module_utils/update_security.py)."
  returned: state is stored
  type: dict
stats:
  description: "Counts; with O(state=planned) C(keys), C(cached), C(to_read); with O(state=stored) C(stored), C(updates), C(unknown)."
  returned: always
  type: dict
"""
