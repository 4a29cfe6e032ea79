#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the controller_check action (it runs on the controller, plugins/action/controller_check.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: controller_check
short_description: Check the controller settings the patchpilot playbooks rely on
version_added: 0.3.0
description:
  - Runs on the controller and contacts no host. C(playbooks/controller_check.yml) calls it
    first in every entry playbook, with what it reads through the C(ansible.builtin.config)
    lookup and the inventory, so that a run from a clone in another directory, from the
    collection installed from its tarball, or under AWX behaves as with the repository's
    C(ansible.cfg) (C(plugins/module_utils/controller_check.py) decides).
  - Fails when the inventory gave no hosts (a source Ansible could not parse leaves only the
    implicit localhost, and every play would be skipped with exit code 0).
  - Unless O(any_unparsed_is_failed) is on, fails when an inventory source gave no host of
    its own (it could not be parsed, is empty, or names only hosts of an earlier source),
    unless O(allow_sources_without_hosts).
  - Fails when host key checking is off, unless O(allow_host_key_checking_off).
  - Warns when results are printed in another format than YAML.
options:
  inventory_sources:
    description: The inventory sources (C(ansible_inventory_sources)).
    type: list
    elements: str
    default: []
  host_sources:
    description: Each inventory host's C(inventory_file), the source it was first read from.
    type: list
    elements: raw
    default: []
  hosts_required:
    description: Whether the run needs hosts; false allows an inventory without hosts (a run closed by its id).
    type: bool
    default: true
  any_unparsed_is_failed:
    description: The C(INVENTORY_ANY_UNPARSED_IS_FAILED) setting; on, Ansible itself fails on a source it cannot parse.
    type: bool
    default: false
  host_key_checking:
    description: The ssh connection's C(host_key_checking) setting.
    type: bool
    default: true
  result_format:
    description: The stdout callback's C(result_format) option; empty when the callback has none.
    type: raw
  allow_sources_without_hosts:
    description: The operator allows inventory sources that give no hosts of their own.
    type: bool
    default: false
  allow_host_key_checking_off:
    description: The operator allows host key checking to be off.
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: It only reads what it is given, in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - patchpilot developers (@patchpilot)
"""

EXAMPLES = r"""
- name: Check the settings the run relies on
  patchpilot.fleet.controller_check:
    inventory_sources: "{{ ansible_inventory_sources }}"
    host_sources: "{{ groups['all'] | map('extract', hostvars, 'inventory_file') }}"
    any_unparsed_is_failed: "{{ lookup('ansible.builtin.config', 'INVENTORY_ANY_UNPARSED_IS_FAILED') }}"
    host_key_checking: "{{ lookup('ansible.builtin.config', 'host_key_checking', plugin_type='connection', plugin_name='ssh') }}"
  run_once: true
"""

RETURN = r"""
errors:
  description: What stops the run (also in C(msg), which is set when there is any).
  returned: always
  type: list
  elements: str
  sample: ["the inventory (/etc/patchpilot/bad.yml) gave no hosts: ..."]
"""
