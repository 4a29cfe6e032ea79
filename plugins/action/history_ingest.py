# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: feed a run (or a scan) to the history store (plugins/modules/history_ingest.py documents it)."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import history_feed, runrecord, statedir
from ansible_collections.patchpilot.fleet.plugins.plugin_utils import history
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args, plain

ARGUMENT_SPEC = {
    "state_dir": {"type": "path"},
    "run_dir": {"type": "path"},
    "run_id": {"type": "str"},
    "base_dir": {"type": "path"},
    "scan_dir": {"type": "path"},
}


def _records(args: dict, task_vars: dict, playbook: str | None) -> tuple:
    """(records, what was fed) for the arguments: a run directory or a scan report folder."""
    if args.get("scan_dir"):
        found = {}
        for name, key in (("assets.json", "assets"), ("updates.json", "updates")):
            path = os.path.join(args["scan_dir"], name)
            try:
                with open(path, encoding="utf-8") as handle:
                    found[key] = json.load(handle).get(key) or []
            except (OSError, ValueError, AttributeError) as exc:
                raise AnsibleActionFail(f"history_ingest: {path}: unreadable scan report: {exc}") from exc
        return history_feed.scan_records(found["assets"], found["updates"]), args["scan_dir"]
    run_dir = args.get("run_dir")
    if not run_dir:
        if not args.get("run_id") or not args.get("base_dir"):
            raise AnsibleActionFail("history_ingest needs run_dir, run_id with base_dir, or scan_dir")
        run_dir = runrecord.path_under(args["base_dir"], args["run_id"])
    found = history_feed.read_run(run_dir)
    ctx = history.context({name: plain(task_vars.get(name)) for name in history.CONTEXT_VARS}, playbook)
    hosts = [e.get("host") for e in found["plan"].get("hosts") or ()]
    ctx["assets"], ctx["cmdb"] = history.assets(task_vars.get("hostvars") or {}, hosts)
    return history_feed.run_records(found, ctx), run_dir


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        if not args.get("state_dir"):  # found as the state_dirs action finds it (patchpilot_state_dir, the environment)
            try:
                args["state_dir"] = statedir.resolve({}, os.environ)["state_dir"]
            except statedir.StateDirError as exc:
                raise AnsibleActionFail(f"history_ingest: {exc}") from exc
        spec = history.store_spec(self._templar, task_vars)
        path = self._task.get_path() or ""
        playbook = path.rsplit(":", 1)[0] if path else None
        try:
            records, source = _records(args, task_vars, playbook)
        except runrecord.RunRecordError as exc:
            raise AnsibleActionFail(f"history_ingest: {exc}") from exc
        if self._task.check_mode:
            result.update(changed=False, records=len(records), appended=0, flushed=0, buffered=0, store_ok=None,
                          source=source, store=history.store_name(spec, args["state_dir"]))
            return result
        fed = history_feed.feed(spec, args["state_dir"], records)
        message = history.warning(fed)
        if message:
            result.setdefault("warnings", []).append(message)
        result.update(changed=bool(fed["appended"] or fed["flushed"] or fed["buffered"]), records=len(records),
                      appended=fed["appended"], flushed=fed["flushed"], buffered=fed["buffered"],
                      store_ok=fed["ok"], error=fed["error"], buffer=fed["buffer"], source=source,
                      store=history.store_name(spec, args["state_dir"]))
        return result
