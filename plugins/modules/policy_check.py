#!/usr/bin/python
# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the policy_check action (it runs on the controller, plugins/action/policy_check.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: policy_check
short_description: Read, migrate and validate a patch policy before any host is contacted
version_added: 0.1.0
description:
  - Reads the YAML policy on the controller, migrates an older version to the current one and
    checks every key against the policy's schema (C(docs/policy.schema.json), C(docs/policy.md)).
  - Fails listing every problem at once, each with the path of the bad key; unknown keys are
    errors. Expired rejections are returned as warnings.
  - Contacts no host.
options:
  policy:
    description: Path of the policy file on the controller.
    type: str
  overrides:
    description:
      - Policy keys laid over the policy file before it is checked (mappings merge key by
        key, anything else replaces). C(playbooks/emergency.yml) uses it.
    type: dict
    default: {}
  today:
    description: Date (YYYY-MM-DD) to judge expiries against, instead of today.
    type: str
requirements:
  - jsonschema (Python library, on the controller; the policy is checked against its JSON Schema)
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
- name: Check the policy
  patchpilot.fleet.policy_check:
    policy: /etc/patchpilot/policy.yml
  run_once: true
"""

RETURN = r"""
policy:
  description: The validated policy, defaults filled in, migrated to the current version.
  returned: success
  type: dict
notes:
  description: What migration changed.
  returned: success
  type: list
  elements: str
"""
