# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: take or release the run lock of an inventory scope (plugins/module_utils/runrecord.py)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import lockbreak, runrecord
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args

ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["acquired", "released"], "default": "acquired"},
    "base_dir": {"type": "path", "required": True},
    "scope": {"type": "str", "required": True},
    "run_id": {"type": "str"},
    "token": {"type": "str", "no_log": False},
    "take_over_stale": {"type": "bool", "default": True},
}


def _owner_pid() -> int:
    """The ansible-playbook process: action plugins run in a worker it forked, which ends with the task."""
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/cmdline", "rb") as handle:
            parent_cmd = handle.read()
        with open(f"/proc/{os.getpid()}/cmdline", "rb") as handle:
            own_cmd = handle.read()
    except OSError:
        return os.getpid()
    return parent if parent_cmd == own_cmd else os.getpid()


def _may_take_over(base_dir: str, scope: str, owner: dict) -> str | None:
    """Why a stale lock may be taken over, or None when it may not.

    Its owner is gone from this machine. It may be taken over when the run it
    guarded is the scope's one unfinished run (which this run resumes), never
    started, or finished; never when another unfinished run of the scope exists.
    """
    unfinished = runrecord.latest_unfinished(base_dir, scope)
    owned = owner.get("run_id")
    if unfinished is None:
        return f"its run {owned or '(none)'} has nothing left to do"
    if unfinished.run_id == owned:
        return f"this run resumes its run {owned}"
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        try:
            lock = runrecord.RunLock(args["base_dir"], args["scope"], run_id=args["run_id"])
        except runrecord.RunRecordError as exc:
            raise AnsibleActionFail(f"run lock: {exc}") from exc
        if args["state"] == "released":
            owner = lock.read()
            if owner is None:
                return dict(result, changed=False, path=lock.path, msg="not locked")
            if owner.get("token") != args["token"]:
                raise AnsibleActionFail(f"run lock {lock.path} is not ours (held by run {owner.get('run_id')},"
                                        f" pid {owner.get('pid')}): left in place")
            lock.owner = owner
            released = lock.release()
            return dict(result, changed=released, path=lock.path)
        warnings = []
        user = lockbreak.owner_user(task_vars or {}, lockbreak.login_user())
        try:
            owner = lock.acquire(owner_pid=_owner_pid(), **user)
        except runrecord.StaleLock as exc:
            why = _may_take_over(args["base_dir"], args["scope"], exc.owner) if args["take_over_stale"] else None
            if why is None:
                raise AnsibleActionFail(f"{exc}. Another run of this scope is unfinished: finish or abandon it first,"
                                        " then remove the lock file by hand") from exc
            try:
                broken = lock.break_stale()
                owner = lock.acquire(owner_pid=_owner_pid(), **user)
            except runrecord.LockError as again:
                raise AnsibleActionFail(f"run lock: {again}") from again
            warnings.append(f"STALE LOCK taken over: {exc.path} belonged to run {broken.get('run_id')} of pid"
                            f" {broken.get('pid')} on {broken.get('host')} since {broken.get('started')}, which"
                            f" is gone; taken over because {why}")
        except runrecord.LockHeld as exc:
            raise AnsibleActionFail(f"another run holds the lock: {exc}") from exc
        except runrecord.LockError as exc:
            raise AnsibleActionFail(f"run lock: {exc}") from exc
        return dict(result, changed=True, path=lock.path, owner=owner, token=owner["token"], warnings=warnings)
