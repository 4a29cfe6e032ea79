# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: purge the history store's records older than a time, recorded in the store (controller side)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import lockbreak
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_purge import PurgeError, purge_before
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError, open_store
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args, now_arg

ARGUMENT_SPEC = {
    "state_dir": {"type": "path", "required": True},
    "history_store": {"type": "str", "no_log": True},
    "keep_days": {"type": "int"},
    "before": {"type": "str"},
    "reason": {"type": "str"},
    "now": {"type": "str"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        now = now_arg(args["now"])
        try:
            before = purge_before(args["keep_days"], args["before"], now)
        except PurgeError as exc:
            raise AnsibleActionFail(f"history purge: {exc}") from None
        reason = (args["reason"] or "").strip()
        if not reason:
            raise AnsibleActionFail("history purge: say why (patchpilot_history_purge_reason): the purge record keeps it")
        owner = lockbreak.owner_user(task_vars or {}, lockbreak.login_user())
        by = owner["user"] + (f" (AWX job {owner['job_id']})" if owner.get("job_id") else "")
        try:
            store = open_store(args["history_store"], args["state_dir"])
        except StoreError as exc:
            raise AnsibleActionFail(f"history purge: {exc}") from None
        try:
            summary = store.purge(before, by=by, reason=reason, check=bool(self._task.check_mode))
            chain = store.verify()
        except StoreError as exc:
            raise AnsibleActionFail(f"history purge: {exc}") from None
        finally:
            store.close()
        result.update(changed=summary is not None and not self._task.check_mode, before=before, purged=summary,
                      chain=chain, store=store.where)
        return result
