# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: which of a host's snapshots retention removes (plugins/modules/retention_select.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.plugin_utils.retention_actions import (
    SELECT_SPEC,
    retention_action,
    select_host,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True  # read only

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(retention_action(self, SELECT_SPEC, task_vars, select_host))
        return result
