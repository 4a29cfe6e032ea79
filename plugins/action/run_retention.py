# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: prune the controller's finished run directories (plugins/modules/run_retention.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.plugin_utils.retention_actions import (
    PRUNE_SPEC,
    prune_runs,
    retention_action,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True  # says what it would remove, removes nothing

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        check_mode = bool(self._task.check_mode)
        result.update(retention_action(self, PRUNE_SPEC, task_vars,
                                       lambda args, now, tv: prune_runs(args, now, tv, check_mode)))
        return result
