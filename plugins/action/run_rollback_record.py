# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: record a rollback of a host after its run ended (rollback_later.later_record
decides the phase and the detail, runrecord.RunDir.record_later writes it)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import lockbreak, rollback_later
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, load, run_action

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "host": {"type": "str"},
    "detail": {"type": "dict", "required": True},
    "source": {"type": "str"},
}


def record_later(args: dict, now, task_vars: dict) -> dict:
    host = args["host"] or task_vars.get("inventory_hostname")
    by = lockbreak.owner_user(task_vars, lockbreak.login_user())
    later = rollback_later.later_record(args["detail"], by, args["source"])
    record = load(args).record_later(host, later["phase"], later["detail"], at=now)
    return {"changed": True, "host": host, "phase": record["phase"], "detail": later["detail"]}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, record_later))
        return result
