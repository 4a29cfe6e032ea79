# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: name a patch run, and say which plan drives it (plugins/modules/run_open.py documents it)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import plancheck, planner, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, run_action
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import plain

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "scope": {"type": "str", "required": True},
    "policy": {"type": "dict", "required": True},
    "plan_file": {"type": "str", "default": ""},
    "replan": {"type": "bool", "default": False},
    "continue_interrupted": {"type": "bool", "default": True},
}


def open_run(args: dict, now, _task_vars=None) -> dict:
    """The run's id and where its plan comes from; AnsibleActionFail with the verdict when refused."""
    policy = plain(args["policy"])
    digest = planner.policy_digest(policy)
    new_id = planner.make_run_id(now)
    replan = args["replan"]
    out = {"changed": False, "new_id": new_id, "policy_digest": digest, "resume": False, "plan_file": "",
           "make_plan": True, "replan": False, "message": None}
    found = runrecord.latest_unfinished(args["base_dir"], args["scope"]) if args["continue_interrupted"] else None
    if found is not None:
        verdict = plancheck.policy_verdict(found.plan, digest, replan, resumed=True, where=found.run_id)
        if not (verdict["ok"] or verdict["replan"]):
            raise AnsibleActionFail(verdict["message"])
        return dict(out, run_id=found.run_id, resume=True, make_plan=verdict["replan"], replan=verdict["replan"],
                    message=verdict["message"])
    if not args["plan_file"]:
        return dict(out, run_id=new_id)
    plan = runrecord.read_json(args["plan_file"], "plan")
    if not isinstance(plan, dict):
        raise AnsibleActionFail(f"{args['plan_file']}: not a plan")
    verdict = plancheck.policy_verdict(plan, digest, replan, where=args["plan_file"])
    if not (verdict["ok"] or verdict["replan"]):
        raise AnsibleActionFail(verdict["message"])
    if verdict["ok"]:
        verdict = plancheck.age_verdict(plan, now, plancheck.max_age_hours(policy), replan, where=args["plan_file"])
        if not (verdict["ok"] or verdict["replan"]):
            raise AnsibleActionFail(verdict["message"])
    if verdict["replan"]:
        return dict(out, run_id=new_id, replan=True, message=verdict["message"])
    return dict(out, run_id=new_id, plan_file=args["plan_file"], make_plan=False)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, open_run))
        return result
