# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: close a run that cannot go on (plugins/module_utils/closing.py decides, runrecord.py writes)."""

from __future__ import annotations

import socket
from datetime import datetime

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import closing, lockbreak, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args, now_arg

ARGUMENT_SPEC = {
    "base_dir": {"type": "path", "required": True},
    "run_id": {"type": "str"},
    "scope": {"type": "str"},
    "reason": {"type": "str", "default": "closed by hand"},
    "by": {"type": "str"},
    "now": {"type": "str"},
}


def _who() -> str:
    """The controller user and machine, for the record."""
    return f"{lockbreak.login_user()}@{socket.gethostname()}"


def close_run(base: str, run_id: str | None, scope: str | None, closed: dict, now: datetime,
              check: bool = False) -> dict:
    """Close run ``run_id`` (default: the newest unfinished run of ``scope``); the result, or AnsibleActionFail."""
    if not run_id:
        if not scope:
            raise AnsibleActionFail("name the run to close (run_id), or the scope whose unfinished run it is")
        found = runrecord.latest_unfinished(base, scope)
        if found is None:
            raise AnsibleActionFail(f"no unfinished run of scope {scope} in {base}: nothing to close")
        run_id = found.run_id
    run_dir = runrecord.RunDir.load(base, run_id)
    with run_dir.locked():  # the verdict and the writes see the same record
        run = run_dir.run
        verdict = closing.close_verdict(run, run_dir.hosts())
        if not verdict["closable"]:
            raise AnsibleActionFail(verdict["reason"])
        lock = runrecord.RunLock(base, run["scope"])
        found_lock = lock.check()
        lock_plan = closing.lock_verdict(run_id, found_lock.owner if found_lock else None,
                                         isinstance(found_lock, runrecord.StaleLock))
        if lock_plan["action"] == "refuse":
            raise AnsibleActionFail(f"run {run_id} is not closed: {lock_plan['reason']}")
        result = {"changed": True, "run_id": run_id, "run_dir": run_dir.path, "abandoned": verdict["abandoned"],
                  "kept": verdict["kept"], "hosts_to_check": verdict["to_check"], "lock": lock_plan,
                  "closed": dict(closed, at=now.isoformat(), abandoned=verdict["abandoned"]), "state": "aborted"}
        if check:
            return result
        if lock_plan["action"] == "remove":
            try:
                lock.break_stale()
            except runrecord.LockError as exc:
                raise AnsibleActionFail(f"run {run_id} is not closed: {exc}") from exc
        closed_run = run_dir.close(verdict["abandoned"], closed, at=now)
        phases = run_dir.hosts()
        run_dir.write_summary({"format": 1, "run_id": run_id, "state": closed_run["state"], "phases": phases,
                               "halted": closed_run.get("halted"), "closed": closed_run["closed"], "final": {}})
    result.update(closed=closed_run["closed"], phases=phases)
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # in check mode nothing is written
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        now = now_arg(args["now"])
        closed = {"by": args["by"] or _who(), "reason": args["reason"]}
        try:
            result.update(close_run(args["base_dir"], args["run_id"], args["scope"], closed, now,
                                    check=bool(self._task.check_mode)))
        except runrecord.RunRecordError as exc:
            raise AnsibleActionFail(f"run record: {exc}") from exc
        except OSError as exc:
            raise AnsibleActionFail(f"run record: {args['base_dir']}: {exc}") from exc
        return result
