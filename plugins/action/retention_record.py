# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: note what retention removed in the run records (plugins/modules/retention_record.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.plugin_utils.retention_actions import (
    RECORD_SPEC,
    record_host,
    retention_action,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(retention_action(self, RECORD_SPEC, task_vars, record_host))
        return result
