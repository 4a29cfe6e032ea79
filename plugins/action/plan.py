# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: turn the policy and every host's scan into the run's plan (controller side)."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import (
    approval,
    planner,
    runrecord,
    scan_report,
    tracker_source,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_first_seen import FirstSeen
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import index_problem
from ansible_collections.patchpilot.fleet.plugins.plugin_utils import scan_results
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.policy_file import read_checked_policy
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import (
    SCAN_VARS_SPEC,
    TRACKER_SPEC,
    checked_args,
    plain,
    read_tracker,
)

ARGUMENT_SPEC = {
    "policy": {"type": "str"},
    "output_dir": {"type": "path", "required": True},
    "hosts": {"type": "list", "elements": "str"},
    "now": {"type": "str"},
    "run_id": {"type": "str"},
    "overrides": {"type": "dict", "default": {}},
    "first_seen_file": {"type": "path"},
    "history_store": {"type": "str", "no_log": True},
    "approved_by": {"type": "str"},
    "cmdb_var": {"type": "str", "default": "patchpilot_asset"},
    **SCAN_VARS_SPEC,
    **TRACKER_SPEC,
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        try:
            now = datetime.fromisoformat(args["now"]) if args["now"] else datetime.now(timezone.utc)
        except ValueError as exc:
            raise AnsibleActionFail(f"now: {exc}") from exc
        if now.tzinfo is None:
            raise AnsibleActionFail("now: give a time zone offset, e.g. 2026-11-27T21:00:00+01:00")
        policy = read_checked_policy(args["policy"], now.date().isoformat(), args["overrides"])
        hostvars = task_vars["hostvars"]
        hosts = args["hosts"] or task_vars.get("ansible_play_hosts_all") or []
        results = scan_results.collect(hostvars, hosts, args["asset_var"], args["updates_var"], args["error_var"],
                                       args["security_var"])
        first_seen_warnings = []
        if args["first_seen_file"]:  # the dates the scan kept in the history store (or the JSON file)
            try:
                first_seen = FirstSeen.open(args["history_store"], os.path.dirname(args["first_seen_file"]),
                                            args["first_seen_file"])
                try:
                    scan_report.stamp_first_seen(results, first_seen.read(), None)
                finally:
                    first_seen.close()
            except scan_report.ReportError as exc:
                raise AnsibleActionFail(str(exc)) from exc
            first_seen_warnings = first_seen.warnings
        tracker, tracker_info = read_tracker(args, now)
        if tracker:
            scan_report.enrich_from_tracker(results, tracker)
        scan = scan_results.plan_scan(results, policy["scan"]["stale_index"])
        for host in scan:  # the CMDB row (the assets inventory plugin's): a covering canary reads its columns
            cmdb = plain(hostvars[host].get(args["cmdb_var"]) or {})
            if isinstance(cmdb, dict) and cmdb:
                scan[host]["cmdb"] = cmdb
        if tracker and policy["emergency"]["cves"]:
            for host, result in results.items():
                codename = (result.get("asset") or {}).get("os_codename")
                if codename:
                    scan[host]["tracker"] = tracker_source.release_states(tracker, codename, policy["emergency"]["cves"])
        stale = [f"{host}: {index_problem(result['index'])}; planned from it (scan.stale_index: report)"
                 for host, result in sorted(results.items())
                 if scan[host]["updates"] is not None and index_problem(result["index"])]
        groups = {name: [h for h in members if h in scan]
                  for name, members in plain(task_vars.get("groups") or {}).items()}
        try:
            plan = planner.build_plan(policy, scan, groups, now, run_id=args["run_id"])
            plan["approval"] = approval.plan_approval(plan["hosts"], policy.get("approvers"), args["approved_by"],
                                                      now.astimezone(timezone.utc).isoformat())
            os.makedirs(args["output_dir"], mode=0o750, exist_ok=True)
            path = os.path.join(args["output_dir"], f"{plan['run_id']}.json")
            runrecord.write_json(path, plan)
            runrecord.write_json(os.path.join(args["output_dir"], "latest.json"), plan)
        except (planner.PlanError, approval.ApprovalError) as exc:
            raise AnsibleActionFail(str(exc)) from exc
        except (runrecord.RunRecordError, OSError) as exc:
            raise AnsibleActionFail(f"writing the plan: {exc}") from exc
        result.update(changed=False, path=path, run_id=plan["run_id"], summary=plan.get("summary"),
                      budget=plan.get("budget"), waves=plan.get("waves"),
                      tracker=tracker_info, approval=plan["approval"],
                      warnings=list(policy.get("warnings") or []) + stale + first_seen_warnings
                      + ([f"{tracker_info['problem']}; the copy of {tracker_info['fetched']} is used"]
                         if tracker_info and tracker_info["stale"] else []))
        return result
