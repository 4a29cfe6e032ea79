# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: close a wave of a run: its unreachable hosts, the budget (plugins/modules/run_wave_end.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import rollout
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import (
    COMMON_SPEC,
    load,
    mark_unreachable,
    run_action,
    status,
)

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "wave": {"type": "int", "required": True},
    "active_hosts": {"type": "list", "elements": "str", "default": []},
    "halt_on_budget": {"type": "bool", "default": True},
}


def end_wave(args: dict, now, _task_vars=None) -> dict:
    run_dir = load(args)
    wave = args["wave"]
    hosts = rollout.wave_hosts(run_dir.plan).get(wave, [])
    marked = mark_unreachable(run_dir, hosts, args["active_hosts"], f"during wave {wave}", now)
    info = status(run_dir, now, args["halt_on_budget"])
    outcome = f"wave {wave}: " + ", ".join(f"{host} {info['phases'].get(host)}" for host in hosts)
    if marked:
        outcome += "; unreachable: " + ", ".join(marked)
    if info["halted"]:
        outcome += f"; HALTED: {info['halted']['reason']}"
    return {"changed": bool(marked), "went_unreachable": marked, "hosts": hosts, "outcome": outcome, **info}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, end_wave))
        return result
