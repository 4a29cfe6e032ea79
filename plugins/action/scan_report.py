# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: write the scan report on the controller from every host's scan results."""

from __future__ import annotations

import os
from datetime import date

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy as policy_utils
from ansible_collections.patchpilot.fleet.plugins.module_utils import scan_report
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_first_seen import FirstSeen, reached_hosts
from ansible_collections.patchpilot.fleet.plugins.plugin_utils import scan_results
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import (
    SCAN_VARS_SPEC,
    TRACKER_SPEC,
    checked_args,
    plain,
    read_tracker,
)

ARGUMENT_SPEC = {
    "output_dir": {"type": "path", "required": True},
    "first_seen_file": {"type": "path"},
    "history_store": {"type": "str", "no_log": True},
    "hosts": {"type": "list", "elements": "str"},
    "policy": {"type": "dict", "default": {}},
    "policy_file": {"type": "path"},
    "today": {"type": "str"},
    **TRACKER_SPEC,
    **SCAN_VARS_SPEC,
    "cmdb_var": {"type": "str", "default": "patchpilot_asset"},
}


def ranking(policy_file: str | None, overrides: dict) -> dict:
    """The policy's priority section (the defaults without a policy file), the overrides laid over it."""
    checked = None
    if policy_file:
        try:
            checked = policy_utils.read_policy(policy_file)
        except policy_utils.PolicyError as exc:
            raise AnsibleActionFail(f"{policy_file}: {exc}") from exc
    try:
        return scan_report.priority_section(checked, overrides)
    except ValueError as exc:
        raise AnsibleActionFail(f"scan report: {exc}") from exc


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        try:
            today = date.fromisoformat(args["today"]) if args["today"] else date.today()
        except ValueError as exc:
            raise AnsibleActionFail(f"today: {exc}") from exc
        hostvars = task_vars["hostvars"]
        hosts = args["hosts"] or task_vars.get("ansible_play_hosts_all") or []
        results = scan_results.collect(hostvars, hosts, args["asset_var"], args["updates_var"], args["error_var"],
                                       args["security_var"])
        cmdb = {host: plain(hostvars[host].get(args["cmdb_var"]) or {}) for host in hosts}
        ranked_by = ranking(args["policy_file"], plain(args["policy"]))
        first_seen, in_store = None, False
        try:
            if args["first_seen_file"]:  # kept in the history store (the JSON file when it is unavailable)
                first_seen = FirstSeen.open(args["history_store"], os.path.dirname(args["first_seen_file"]),
                                            args["first_seen_file"], args["output_dir"])
                seen = first_seen.read()
            else:
                seen = scan_report.load_seen(args["output_dir"], None)
            tracker, tracker_info = read_tracker(args, None)
            report = scan_report.build(results, cmdb, ranked_by, today, seen, tracker)
            if first_seen is not None:
                first_seen.save(report["first_seen"], reached_hosts(results))
                in_store = first_seen.in_store
            paths = scan_report.write(args["output_dir"], report, today, args["first_seen_file"],
                                      keep_first_seen=not in_store)
        except (scan_report.ReportError, ValueError, OSError) as exc:
            raise AnsibleActionFail(f"scan report: {exc}") from exc
        finally:
            if first_seen is not None:
                first_seen.close()
        statuses = [a["status"] for a in report["assets"]]
        result.update(
            changed=False,
            paths=paths,
            summary={
                "hosts": len(statuses),
                "scanned": statuses.count("scanned"),
                "failed": statuses.count("failed"),
                "unreachable": statuses.count("unreachable"),
                "stale": sum(1 for a in report["assets"] if a.get("index_problem")),
                "updates": len(report["updates"]),
                "emergency": sum(1 for u in report["updates"] if u.get("emergency")),
                "outdated_os": sum(1 for a in report["assets"] if a["eol_status"] == "outdated"),
            },
            problems={a["host"]: f"{a['status']}: {a['reason']}" if a["status"] != "scanned"
                      else f"scanned from a stale index: {a['index_problem']}"
                      for a in report["assets"] if a["status"] != "scanned" or a.get("index_problem")},
            top=report["updates"][:10],
            tracker=tracker_info,
            first_seen={"store": in_store, "imported": first_seen.imported if first_seen else {}},
        )
        warnings = list(first_seen.warnings) if first_seen else []
        if tracker_info and tracker_info["stale"]:
            warnings.append(f"{tracker_info['problem']}; the copy of {tracker_info['fetched']} is used")
        if warnings:
            result["warnings"] = warnings
        return result
