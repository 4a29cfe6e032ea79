# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: read, migrate and validate a patch policy on the controller (no host contacted)."""

from __future__ import annotations

from datetime import date

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_utils
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args

ARGUMENT_SPEC = {
    "policy": {"type": "str"},
    "today": {"type": "str"},
}


def read_checked_policy(path: str | None, today_text: str | None) -> dict:
    """The validated policy, or AnsibleActionFail listing every problem (shared with the plan action)."""
    if not path:
        raise AnsibleActionFail("no policy given: set patchpilot_policy to the policy file (see docs/policy.md)")
    try:
        today = date.fromisoformat(today_text) if today_text else None
    except ValueError as exc:
        raise AnsibleActionFail(f"today: {exc}") from exc
    try:
        return policy_utils.read_policy(path, today=today)
    except policy_utils.PolicyError as exc:
        raise AnsibleActionFail(f"{path}: {exc}") from exc


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        checked = read_checked_policy(args["policy"], args["today"])
        result.update(changed=False, policy=checked, warnings=list(checked.get("warnings") or []),
                      notes=list(checked.get("notes") or []))
        return result
