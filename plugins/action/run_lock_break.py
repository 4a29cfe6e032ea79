# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: list the run locks, or break one by hand (lockbreak.py decides, runrecord.py writes)."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import lockbreak, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args, now_arg

ARGUMENT_SPEC = {
    "base_dir": {"type": "path", "required": True},
    "lock": {"type": "str"},
    "reason": {"type": "str"},
    "now": {"type": "str"},
}
#: The append-only record of broken locks, in the locks folder.
BROKEN_FILE = "broken.jsonl"


def listing(locks: list) -> list:
    return [{"lock": lock["name"], "key": lock["key"], "owner": lock["owner"],
             "says": lockbreak.describe_owner(lock["owner"])} for lock in locks]


def break_lock(base: str, wanted: str | None, reason: str | None, by: dict, now: datetime,
               check: bool = False) -> dict:
    """List the locks (``wanted`` empty) or break the one ``wanted`` names; the result, or AnsibleActionFail."""
    locks = runrecord.list_locks(base)
    result = {"changed": False, "locks": listing(locks), "broken": None}
    if not wanted:
        return result
    try:
        lock = lockbreak.select_lock(locks, wanted)
    except lockbreak.LockBreakError as exc:
        raise AnsibleActionFail(str(exc)) from exc
    owner, here = lock["owner"], socket.gethostname()
    pid = owner.get("pid")
    alive = (owner.get("host") == here and isinstance(pid, int) and not isinstance(pid, bool) and pid > 0
             and runrecord._alive(pid, owner.get("pid_start")))  # pylint: disable=protected-access
    verdict = lockbreak.break_verdict(owner, here, alive, reason)
    if verdict["action"] != "break":
        raise AnsibleActionFail(f"lock {lock['name']} is not broken: {verdict['reason']}")
    record = lockbreak.break_record(lock, by, here, now.isoformat(), reason, verdict)
    result.update(changed=True, broken=record, verdict=verdict, path=lock["path"],
                  record_path=os.path.join(os.path.dirname(lock["path"]), BROKEN_FILE), run_event=None)
    if check:
        return result
    runrecord.RunLock.from_key(base, lock["key"]).remove_if_owner(owner)
    runrecord.append_private_jsonl(result["record_path"], record)
    run_id = owner.get("run_id")
    if isinstance(run_id, str) and run_id:
        try:
            run_dir = runrecord.RunDir.load(base, run_id)
        except runrecord.RunRecordError:
            run_dir = None  # a run that never started, or gone: broken.jsonl has the record
        if run_dir is not None:
            run_dir.add_event("lock_broken", record, at=now)
            result["run_event"] = run_dir.run_path
    result["locks"] = listing(runrecord.list_locks(base))
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # in check mode nothing is written
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        now = now_arg(args["now"])
        by = lockbreak.owner_user(task_vars or {}, lockbreak.login_user())
        try:
            result.update(break_lock(args["base_dir"], args["lock"], args["reason"], by, now,
                                     check=bool(self._task.check_mode)))
        except runrecord.LockError as exc:
            raise AnsibleActionFail(f"run lock: {exc}") from exc
        except runrecord.RunRecordError as exc:
            raise AnsibleActionFail(f"run lock: {exc}") from exc
        except OSError as exc:
            raise AnsibleActionFail(f"run lock: {args['base_dir']}: {exc}") from exc
        return result
