#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_rollback_source action (it runs on the controller, plugins/action/run_rollback_source.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_rollback_source
short_description: May a host of a finished run be rolled back later, and what did the run keep for it
version_added: 0.2.0
description:
  - Runs on the controller, on the run directories of C(playbooks/patch.yml). C(playbooks/rollback.yml) calls it
    for each host it rolls back later.
  - Refuses an unknown run id, a run still unfinished (C(running)), a host that is not in the run, a host already
    rolled back and a host the run never changed (its snapshot never taken), each with a clear message.
  - Reads the host's C(snapshot.json) in the run's archive and returns what a rollback needs of it (C(kept) -
    provider, snapshot id, the kept C(.deb) files and their sha256, the paths that must exist on the host, the
    baseline versions). Whether that is still there is the C(patchpilot.fleet.rollback_source) filter's verdict.
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The finished run.
    type: str
    required: true
  host:
    description: The host; default the task's host.
    type: str
  host_dir:
    description: The run's cache on the host; default C(/var/cache/patchpilot/runs/<run_id>).
    type: str
  now:
    description: Not used; the run actions' common option.
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
- name: What the run kept of this host
  patchpilot.fleet.run_rollback_source:
    base_dir: /var/lib/patchpilot/runs
    run_id: 20261127T210000Z-a1b2c3
  register: source
"""

RETURN = r"""
run_id: {description: The run., returned: success, type: str}
phase: {description: The host's phase in the run., returned: success, type: str}
archive_dir: {description: The host's archive folder of the run on the controller., returned: success, type: str}
host_dir: {description: The run's cache on the host., returned: success, type: str}
entry: {description: The host's plan entry., returned: success, type: dict}
health_checks: {description: The host's health checks from the plan., returned: success, type: dict}
kept:
  description:
    - What the rollback needs - C(provider), C(package_manager), C(snapshot_id), C(debs) (file to sha256),
      C(archive_debs_dir), C(host_debs_dir), C(host_paths), C(baseline) (name to version before the run), C(note).
  returned: success
  type: dict
"""
