# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: read, migrate and validate a patch policy on the controller (no host contacted)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.plugin_utils.policy_file import read_checked_policy
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args

ARGUMENT_SPEC = {
    "policy": {"type": "str"},
    "today": {"type": "str"},
    "overrides": {"type": "dict", "default": {}},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        checked = read_checked_policy(args["policy"], args["today"], args["overrides"])
        result.update(changed=False, policy=checked, warnings=list(checked.get("warnings") or []),
                      notes=list(checked.get("notes") or []))
        return result
