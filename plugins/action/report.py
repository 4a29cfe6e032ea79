# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: the reports from the history store (report_model.py builds, report_render.py writes)."""

from __future__ import annotations

import os
import socket
from datetime import date, datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import history_feed, report_model, report_render
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError, open_store
from ansible_collections.patchpilot.fleet.plugins.plugin_utils import history
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args

ARGUMENT_SPEC = {
    "store": {"type": "str", "no_log": True},
    "state_dir": {"type": "path", "required": True},
    "output_dir": {"type": "path", "required": True},
    "run": {"type": "str"},
    "formats": {"type": "list", "elements": "str", "default": list(report_render.FORMATS),
                "choices": list(report_render.FORMATS)},
    "syslog": {"type": "dict", "options": {
        "host": {"type": "str", "required": True},
        "port": {"type": "int", "default": 514},
        "protocol": {"type": "str", "default": "udp", "choices": ["udp", "tcp"]},
        "hostname": {"type": "str"},
    }},
    "today": {"type": "str"},
    "fail_on_broken_chain": {"type": "bool", "default": True},
}


def _hide(message: str, secret: str) -> str:
    """A message without the store's address (a postgresql:// URL may hold a password; history_feed.redacted)."""
    return history_feed.redacted(message, secret, "<history store>")


def report(args: dict, now: datetime, check: bool = False) -> dict:
    """Read the store, verify its chain, build and write the reports; the result (AnsibleActionFail on a problem)."""
    spec = args["store"] or ""
    try:
        today = date.fromisoformat(args["today"]) if args["today"] else now.date()
    except ValueError as exc:
        raise AnsibleActionFail(f"report: today: {exc}") from exc
    try:
        store = open_store(spec, args["state_dir"])
    except StoreError as exc:
        raise AnsibleActionFail(_hide(f"report: {exc}", spec)) from exc
    try:
        chain = store.verify()
        records = store.records()
    except StoreError as exc:
        raise AnsibleActionFail(_hide(f"report: {exc}", spec)) from exc
    finally:
        store.close()
    try:
        model = report_model.build(records, today, run=args["run"] or None, chain=chain,
                                   generated=now.isoformat(timespec="seconds"))
        files = report_render.render(model, args["formats"])
    except (report_model.ReportError, report_render.RenderError) as exc:
        raise AnsibleActionFail(f"report: {exc}") from exc
    fleet = model["compliance"]["fleet"]
    result = {
        "changed": not check, "run_id": model["run_id"], "chain": chain, "output_dir": args["output_dir"],
        "summary": {"hosts": len(model["hosts"]), "runs": len(model["runs"]), "approved": fleet["approved"],
                    "compliant": fleet["compliant"], "compliance": fleet["share"], "overdue": len(model["overdue"]),
                    "sla_breaches": len(model["sla_breaches"]), "pending": model["pending"]["total"],
                    "outdated": len(model["outdated"]),
                    "failing_hosts": [h["host"] for h in model["hosts"] if h["failing"]]},
        "paths": {name: os.path.join(args["output_dir"], name) for name in files},
        "syslog_sent": 0,
    }
    if not check:
        try:
            result["paths"] = report_render.write(args["output_dir"], files)
            if args["syslog"]:
                target = args["syslog"]
                events = report_render.syslog_events(model)
                messages = [report_render.syslog_message(event, target["hostname"] or socket.gethostname(), now=now)
                            for event in events]
                result["syslog_sent"] = report_render.send_syslog(messages, target["host"], target["port"],
                                                                  target["protocol"])
        except report_render.RenderError as exc:
            raise AnsibleActionFail(f"report: {exc}") from exc
    if not chain["ok"] and args["fail_on_broken_chain"]:
        result.update(failed=True, msg=f"history store: the chain is broken at record {chain['broken_at']}:"
                                       f" {chain['reason']} (reports written to {args['output_dir']})")
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # in check mode nothing is written or sent
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        if args["store"] is None:  # the variable, as history_ingest reads it: the play needs no no_log
            args["store"] = history.store_spec(self._templar, task_vars)
        result.update(report(args, datetime.now(timezone.utc), check=bool(self._task.check_mode)))
        return result
