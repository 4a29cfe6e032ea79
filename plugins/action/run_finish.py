# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: close a run record and write its summary (plugins/modules/run_finish.py documents it)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import retention
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, describe, load, run_action

ARGUMENT_SPEC = dict(COMMON_SPEC)


def finish_run(args: dict, now, _task_vars=None) -> dict:
    """Completed when every host is done, failed when any failed or the run halted; left running
    (to be continued by a rerun) while hosts are still pending."""
    run_dir = load(args)
    info = describe(run_dir)
    phases = info["phases"]
    halted = info["run"].get("halted")
    if info["pending"] and not halted:
        return {"changed": False, "state": "running", "final": {}, **info}
    state = "completed" if all(p == "done" for p in phases.values()) and not halted else "failed"
    run_dir.finish(state, at=now)
    info = describe(run_dir)
    info["final"] = {host: run_dir.final(host) for host in info["phases"]}
    info["retention"] = retention.recorded({host: retention.read_note(run_dir.archive_dir(host))
                                            for host in info["phases"]})
    run_dir.write_summary({"format": 1, "run_id": run_dir.run_id, "state": state, "phases": info["phases"],
                           "halted": info["run"].get("halted"), "final": info["final"],
                           "rollbacks": info["rollbacks"], "retention": info["retention"]})
    return {"changed": True, "state": state, **info}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, finish_run))
        return result
