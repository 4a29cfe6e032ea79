# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side code of the retention actions (retention_select, retention_record, run_retention).

Each is one job over module_utils/retention.py and the run record; the roles gather and act.
"""

from __future__ import annotations

import os

from ansible_collections.patchpilot.fleet.plugins.module_utils import retention, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, load, need, run_action

#: The keep rule as the plan's settings carry it.
KEEP_SPEC = {"type": "dict", "options": {"runs": {"type": "int"}, "days": {"type": "int"}}}


def retention_action(plugin, spec: dict, task_vars: dict, act) -> dict:
    """run_action, with a retention problem as one clear AnsibleActionFail."""
    from ansible.errors import AnsibleActionFail  # pylint: disable=import-outside-toplevel

    def guarded(args, now, task_vars_):
        try:
            return act(args, now, task_vars_)
        except retention.RetentionError as exc:
            raise AnsibleActionFail(f"retention: {exc}") from exc

    return run_action(plugin, spec, task_vars, guarded)


SELECT_SPEC = {**COMMON_SPEC, "host": {"type": "str"}, "keep": KEEP_SPEC,
               "host_dirs": {"type": "list", "elements": "dict", "default": []}}


def select_host(args: dict, now, task_vars: dict) -> dict:
    """What retention removes of the host after run ``run_id``: :func:`retention.host_plan`."""
    need(args, "retention_select", "run_id")
    host = args["host"] or task_vars.get("inventory_hostname")
    runs = retention.read_runs(args["base_dir"], host)
    result = retention.host_plan(runs, args["host_dirs"], args["keep"], now, args["run_id"])
    return {"changed": False, "host": host, "keep_rule": retention.keep_rule(args["keep"]), **result}


RECORD_SPEC = {**COMMON_SPEC, "host": {"type": "str"},
               "removed": {"type": "list", "elements": "dict", "default": []},
               "kept": {"type": "list", "elements": "dict", "default": []},
               "error": {"type": "str"}}


def _keep_note(run_dir: runrecord.RunDir, host: str, note: dict) -> str:
    """Write ``archive/<host>/retention.json`` of the run (the host's history stays as it was at done)."""
    folder = run_dir.archive_dir(host)
    with run_dir.locked():
        os.makedirs(folder, mode=runrecord.DIR_MODE, exist_ok=True)
        path = runrecord.path_under(folder, retention.NOTE_FILE)
        runrecord.write_json(path, note)
    return path


def record_host(args: dict, now, task_vars: dict) -> dict:
    """Note what retention removed: in this run's ``archive/<host>/retention.json``, and in each removed
    run's host history (so a later rollback of that run can say the snapshot is gone)."""
    host = args["host"] or task_vars.get("inventory_hostname")
    run_dir = load(args)
    base = {"format": 1, "host": host, "run_id": run_dir.run_id, "at": now.isoformat()}
    if args["error"]:
        _keep_note(run_dir, host, {**base, "removed": [], "kept": [], "error": args["error"]})
        return {"changed": True, "host": host, "removed": [], "noted_in": []}
    removed = [{key: step.get(key) for key in ("run_id", "provider", "reason", "host_dir", "btrfs_argv", "lvm_argv",
                                               "aws_ebs")} for step in args["removed"]]
    _keep_note(run_dir, host, {**base, "removed": removed, "kept": args["kept"], "error": None})
    noted = []
    for step in removed:
        try:
            old = runrecord.RunDir.load(args["base_dir"], step["run_id"])
            old.note(host, {"retention": {"snapshot_removed": True, "by_run": args["run_id"], **step}}, at=now)
        except runrecord.RunRecordError:
            continue  # no run directory (a host folder only), or no record of this host in it
        noted.append(step["run_id"])
    return {"changed": bool(removed), "host": host, "removed": [s["run_id"] for s in removed], "noted_in": noted}


PRUNE_SPEC = {**COMMON_SPEC, "keep": KEEP_SPEC}


def prune_runs(args: dict, now, task_vars: dict, check_mode: bool = False) -> dict:
    """Remove the finished run directories of the run's scope beyond the keep rule; retention.json in this run."""
    need(args, "run_retention", "run_id")
    run_dir = load(args)
    verdict = retention.controller_plan(retention.read_runs(args["base_dir"]), args["keep"], now, args["run_id"])
    removed = retention.prune_run_dirs(args["base_dir"], [item["id"] for item in verdict["remove"]], check_mode)
    reasons = {item["id"]: item["reason"] for item in verdict["remove"]}
    result = {"removed": [{"id": run_id, "reason": reasons[run_id]} for run_id in removed], "keep": verdict["keep"],
              "keep_rule": retention.keep_rule(args["keep"])}
    if not check_mode:
        with run_dir.locked():
            runrecord.write_json(runrecord.path_under(run_dir.path, "retention.json"),
                                 {"format": 1, "run_id": run_dir.run_id, "at": now.isoformat(), **result})
    return {"changed": bool(removed), **result}
