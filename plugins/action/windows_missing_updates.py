# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: the updates a Windows host is missing, as update records.

Runs the ``ansible.windows.win_updates`` action (which starts the Windows
Update search on the host in a scheduled task and polls it) with
``state: searched`` and ``reboot: false``, so nothing is downloaded,
installed or rebooted, then normalises its result on the controller with
``module_utils/backends/windows.py``. Documentation:
``plugins/modules/windows_missing_updates.py``.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends.windows import normalise_win_updates
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    BackendError,
    RecordError,
    sort_key,
    summarise,
)

WIN_UPDATES = "ansible.windows.win_updates"

ARGUMENT_SPEC = {
    "category_names": {"type": "list", "elements": "str", "default": ["*"]},
    "accept_list": {"type": "list", "elements": "str"},
    "reject_list": {"type": "list", "elements": "str"},
    "skip_optional": {"type": "bool", "default": False},
    "server_selection": {"type": "str", "default": "default",
                         "choices": ["default", "managed_server", "windows_update"]},
}


class ActionModule(ActionBase):
    """Search Windows Update through win_updates and return normalised records."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # a search changes nothing
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        search_args = {key: value for key, value in args.items() if value is not None}
        search_args.update(state="searched", reboot=False)

        searched = self._run_win_updates(search_args, task_vars)

        result["changed"] = False
        result["backend"] = "windows"
        if searched.get("unreachable"):
            result.update(unreachable=True, msg=searched.get("msg", "host unreachable"))
            return result
        try:
            records = normalise_win_updates(searched)
        except (BackendError, RecordError) as exc:
            result.update(failed=True, msg=str(exc))
            for key in ("exception", "rc", "stdout", "stderr"):
                if key in searched:
                    result[key] = searched[key]
            return result

        updates = sorted((record.as_dict() for record in records), key=sort_key)
        result.update(
            updates=updates,
            summary=summarise(updates),
            reboot_required=bool(searched.get("reboot_required")),
            filtered_count=len(searched.get("filtered_updates") or {}),
        )
        return result

    def _run_win_updates(self, module_args: dict, task_vars: dict) -> dict:
        """Result of the ansible.windows.win_updates action run with module_args."""
        task = self._task.copy()
        task.args = module_args
        action = self._shared_loader_obj.action_loader.get(
            WIN_UPDATES,
            task=task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        if action is None:
            return {"failed": True, "msg": f"the {WIN_UPDATES} action plugin is not installed (collection ansible.windows)"}
        return action.run(task_vars=task_vars)
