# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy file read and checked on the controller: shared by the policy_check and plan actions."""

from __future__ import annotations

from datetime import date

from ansible.errors import AnsibleActionFail

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_utils


def merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` laid over it: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def read_checked_policy(path: str | None, today_text: str | None, overrides: dict | None = None) -> dict:
    """The validated policy, or AnsibleActionFail listing every problem.

    ``overrides`` (playbooks/emergency.yml) are laid over the policy file before it is checked.
    """
    if not path:
        raise AnsibleActionFail("no policy given: set patchpilot_policy to the policy file (see docs/policy.md)")
    try:
        today = date.fromisoformat(today_text) if today_text else None
    except ValueError as exc:
        raise AnsibleActionFail(f"today: {exc}") from exc
    try:
        data = policy_utils.load_policy(path)
        return policy_utils.validate_policy(merged(data, overrides) if overrides else data, today=today)
    except policy_utils.PolicyError as exc:
        raise AnsibleActionFail(f"{path}: {exc}") from exc
