# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: may a wave of a run start now (plugins/modules/run_wave_gate.py documents it)."""

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
    "max_wait": {"type": "int", "default": 3600},
}


def gate_wave(args: dict, now, _task_vars=None) -> dict:
    run_dir = load(args)
    every = [host for hosts in rollout.wave_hosts(run_dir.plan).values() for host in hosts]
    marked = mark_unreachable(run_dir, every, args["active_hosts"], "before this wave", now)
    info = status(run_dir, now, args["halt_on_budget"])
    hosts = info["pending_waves"].get(str(args["wave"]), [])
    if info["halted"]:
        gate = {"go": False, "wait_seconds": 0, "reason": f"the run is halted: {info['halted']['reason']}"}
    elif not hosts:
        gate = {"go": False, "wait_seconds": 0, "reason": f"wave {args['wave']} has no host still to do"}
    else:
        gate = rollout.gate(info["plan"], args["wave"], now, args["max_wait"])
    return {"changed": bool(marked), "went_unreachable": marked, "hosts": hosts, **gate, **info}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, gate_wave))
        return result
