# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: the content of a host's local fact at the end of its part of a run (plugins/modules/run_host_fact.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import local_fact
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, load, run_action
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import plain

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "host": {"type": "str"},
    "asset": {"type": "raw"},
}


def make_fact(args: dict, now, task_vars: dict) -> dict:
    host = args["host"] or task_vars.get("inventory_hostname")
    asset = plain(args["asset"])
    if asset is not None and not isinstance(asset, dict):
        raise AnsibleActionFail(f"asset: expected the asset record of patchpilot.fleet.asset_facts, "
                                f"got {type(asset).__name__}")
    run_dir = load(args)
    entry = next((e for e in run_dir.plan.get("hosts") or () if e.get("host") == host), None)
    if entry is None:
        raise AnsibleActionFail(f"{host} is not in the plan of run {run_dir.run_id}")
    try:
        fact = local_fact.host_fact(run_dir.run_id, run_dir.host(host), entry, asset, now.isoformat())
    except local_fact.LocalFactError as exc:
        raise AnsibleActionFail(f"local fact of {host}: {exc}") from exc
    return {"changed": False, "fact": fact, "path": local_fact.FACT_FILE, "mode": local_fact.FACT_MODE}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, make_fact))
        return result
