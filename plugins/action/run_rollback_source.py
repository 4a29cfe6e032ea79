# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: may a host of a finished run be rolled back later, and what did the run keep
for it (plugins/module_utils/rollback_later.py decides, runrecord.py reads)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import rollback_later, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.run_actions import COMMON_SPEC, run_action

ARGUMENT_SPEC = {
    **COMMON_SPEC,
    "host": {"type": "str"},
    "host_dir": {"type": "str"},
}
#: Where the snapshot role keeps a run's material on the host (roles/snapshot, roles/rollback).
HOST_DIR = "/var/cache/patchpilot/runs/{run_id}"


def rollback_source(args: dict, now, task_vars: dict) -> dict:  # pylint: disable=unused-argument
    host = args["host"] or task_vars.get("inventory_hostname")
    run_id = args["run_id"]
    if not run_id:
        raise AnsibleActionFail("name the finished run to roll back: -e patchpilot_run_id=RUN_ID")
    try:
        run_dir = runrecord.RunDir.load(args["base_dir"], run_id)
    except runrecord.RunRecordError as exc:
        raise AnsibleActionFail(f"unknown run id {run_id} in {args['base_dir']}: {exc}") from exc
    run = run_dir.run
    hosts = run_dir.hosts()
    verdict = rollback_later.host_verdict(run, host, run_dir.host(host) if host in hosts else None)
    if not verdict["allowed"]:
        raise AnsibleActionFail(verdict["reason"])
    archive_dir = run_dir.archive_dir(host)
    snapshot_path = os.path.join(archive_dir, "snapshot.json")
    snapshot = runrecord.read_json(snapshot_path, "snapshot record") if os.path.isfile(snapshot_path) else None
    host_dir = args["host_dir"] or HOST_DIR.format(run_id=run_id)
    try:
        kept = rollback_later.kept_material(snapshot, host, run_id, archive_dir, host_dir)
    except rollback_later.RollbackLaterError as exc:
        raise AnsibleActionFail(str(exc)) from exc
    entry = next((h for h in run_dir.plan.get("hosts") or () if h.get("host") == host), {})
    return {"changed": False, "run_id": run_id, "host": host, "phase": hosts[host], "reason": verdict["reason"],
            "archive_dir": archive_dir, "host_dir": host_dir, "entry": entry,
            "health_checks": (entry.get("settings") or {}).get("health_checks") or {}, "kept": kept}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # reads only
        result = super().run(tmp, task_vars)
        result.update(run_action(self, ARGUMENT_SPEC, task_vars, rollback_source))
        return result
