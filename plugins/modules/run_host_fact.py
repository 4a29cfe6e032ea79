#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the run_host_fact action (it runs on the controller, plugins/action/run_host_fact.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_host_fact
short_description: Make a host's local fact (its last run) at the end of its part of a patch run
version_added: 0.3.0
description:
  - Runs on the controller and changes nothing. Reads the host's run record and plan entry and
    returns RV(fact), the content of the local fact the host carries (C(/etc/ansible/facts.d/patchpilot.fact),
    shown by fact gathering as C(ansible_local.patchpilot)) - the run's id, when and how the host's part
    ended (done, failed, rolled_back), the plan's package count, the host's machine id and revision level.
  - RV(fact) is null while the host's part of the run has not ended (pending, or a wave that did not start);
    the playbook then writes nothing.
  - The playbook writes it with M(ansible.builtin.copy) to RV(path), mode RV(mode) (docs/identity.md says why
    it is world-readable).
options:
  base_dir:
    description: Folder of the run directories.
    type: path
    required: true
  run_id:
    description: The run's id.
    type: str
    required: true
  host:
    description: The host; defaults to the task's host.
    type: str
  asset:
    description:
      - The host's asset record read at the end of the run (C(asset) of M(patchpilot.fleet.asset_facts)),
        for its machine id and revision level; without it they are null.
    type: raw
  now:
    description: The time to act at (ISO 8601), instead of now.
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: patchpilot.fleet.run_host_record
  - module: patchpilot.fleet.run_host_final
  - module: patchpilot.fleet.asset_facts
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Read the host's revision level
  patchpilot.fleet.asset_facts:
  register: asset

- name: Make the host's local fact
  patchpilot.fleet.run_host_fact:
    base_dir: /var/lib/patchpilot/runs
    run_id: "{{ run_id }}"
    asset: "{{ asset.asset }}"
  register: host_fact

- name: Write it
  become: true
  ansible.builtin.copy:
    content: "{{ host_fact.fact | to_nice_json }}"
    dest: "{{ host_fact.path }}"
    mode: "{{ host_fact.mode }}"
  when: host_fact.fact is not none
"""

RETURN = r"""
fact:
  description: The local fact's content, or null when the host's part of the run has not ended.
  returned: always
  type: dict
  sample:
    format: 1
    run_id: 20261127T210000Z-a1b2c3
    host: web01
    machine_id: d4d172059f264b615be86628ba82801e
    at: "2026-11-27T21:04:10+00:00"
    result: rolled_back
    planned_packages: 7
    planned_removals: 1
    revision:
      os: Debian GNU/Linux 12 (bookworm)
      os_version: "12"
      kernel: 6.1.0-27-amd64
      packages: 180
      packages_digest: "sha256:5e7c1d0a9f0b4e3c2d1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180716"
  contains:
    result:
      description: How the host's part ended, C(done), C(failed) or C(rolled_back).
      returned: when the fact is not null
      type: str
    at:
      description: When the host reached that result.
      returned: when the fact is not null
      type: str
path:
  description: Where the fact goes on the host.
  returned: always
  type: str
  sample: /etc/ansible/facts.d/patchpilot.fact
mode:
  description: The fact file's mode.
  returned: always
  type: str
  sample: "0644"
"""
