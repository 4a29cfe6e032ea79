# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: move a host of a run to its next phase (plugins/modules/run_host_record.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, load, run_action

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "host": {"type": "str"},
    "phase": {"type": "str", "required": True, "choices": list(runrecord.PHASES)},
    "detail": {"type": "raw"},
}


def record_host(args: dict, now, task_vars: dict) -> dict:
    host = args["host"] or task_vars.get("inventory_hostname")
    record = load(args).record(host, args["phase"], args["detail"], at=now)
    return {"changed": True, "host": host, "phase": record["phase"]}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, record_host))
        return result
