# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: start a run record from its plan, or continue an interrupted one (plugins/modules/run_start.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import plancheck, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, describe, need, run_action

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "scope": {"type": "str"},
    "plan_file": {"type": "path"},
    "resume": {"type": "bool", "default": False},
    "fresh_plan_file": {"type": "path"},
}


def _plan(path: str) -> dict:
    plan = runrecord.read_json(path, "plan")
    if not isinstance(plan, dict):
        raise AnsibleActionFail(f"{path}: not a plan")
    return plan


def start_run(args: dict, now, _task_vars=None) -> dict:
    need(args, "run_start", "run_id")
    if args["resume"]:
        run_dir = runrecord.RunDir.load(args["base_dir"], args["run_id"])
        if not args["fresh_plan_file"]:
            return {"changed": False, "replanned": False, **describe(run_dir)}
        merged = plancheck.replan_pending(run_dir.plan, _plan(args["fresh_plan_file"]), run_dir.hosts(),
                                          now.isoformat())
        run_dir.replace_plan(merged)
        return {"changed": True, "replanned": True, **describe(run_dir)}
    need(args, "run_start", "scope", "plan_file")
    plan = _plan(args["plan_file"])
    if plan.get("run_id") != args["run_id"]:
        # a plan reviewed earlier (patch.yml --check, plan.yml) keeps its versions; the run gets its own id
        plan = dict(plan, planned_as=plan.get("run_id"), run_id=args["run_id"])
    run_dir = runrecord.RunDir(args["base_dir"], args["run_id"])
    run_dir.start(plan, args["scope"], at=now)
    return {"changed": True, "replanned": False, **describe(run_dir)}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, start_run))
        return result
