# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: keep a host's installed versions at the end of a run, compared with its plan (plugins/modules/run_host_final.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import (
    COMMON_SPEC,
    load,
    observe,
    run_action,
)

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "host": {"type": "str"},
    "installed": {"type": "raw", "required": True, "aliases": ["packages"]},
}


def keep_final(args: dict, now, task_vars: dict) -> dict:
    host = args["host"] or task_vars.get("inventory_hostname")
    run_dir = load(args)
    entry = next((e for e in run_dir.plan.get("hosts") or () if e.get("host") == host), None)
    if entry is None:
        raise AnsibleActionFail(f"{host} is not in the plan of run {run_dir.run_id}")
    observed = {"format": 1, "host": host, "at": now.isoformat(), **observe(entry, args["installed"])}
    run_dir.keep_final(host, observed)
    return {"changed": True, **observed}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, keep_final))
        return result
