# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: the controller's state and report directories (plugins/module_utils/statedir.py)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils import statedir
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args

ARGUMENT_SPEC = {
    "state_dir": {"type": "str"},
    "report_dir": {"type": "str"},
    "run_base": {"type": "str"},
    "plan_dir": {"type": "str"},
    "legacy_dir": {"type": "str"},
}


def state_dirs(args: dict, env=None, euid: int | None = None, check: bool = False) -> dict:
    """Resolve and make the directories, move 0.1's reports/ once; StateDirError when refused."""
    env = os.environ if env is None else env
    dirs = statedir.resolve(args, env, euid)
    made = [path for path, what in ((dirs["state_dir"], "state directory"), (dirs["report_dir"], "report directory"))
            if statedir.ensure_private(path, what, euid)]
    legacy = statedir.legacy_dir(args, env)
    moved = statedir.migrate(dirs, legacy, check=check)
    verb = "would move" if check else "moved"
    warnings = [f"upgrade from patchpilot 0.1: {verb} {move['from']} to {move['to']}" for move in moved]
    return dict(dirs, changed=bool(made or (moved and not check)), made=made, migrated=moved, legacy_dir=legacy,
                warnings=warnings)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        try:
            result.update(state_dirs(args, check=bool(self._task.check_mode)))
        except statedir.StateDirError as exc:
            raise AnsibleActionFail(f"state directories: {exc}") from exc
        return result
