# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: check the controller's settings the playbooks rely on (module_utils/controller_check.py decides)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.patchpilot.fleet.plugins.module_utils.controller_check import controller_verdict
from ansible_collections.patchpilot.fleet.plugins.plugin_utils.scan_results import checked_args

ARGUMENT_SPEC = {
    "inventory_sources": {"type": "list", "elements": "str", "default": []},
    "host_sources": {"type": "list", "elements": "raw", "default": []},
    "hosts_required": {"type": "bool", "default": True},
    "any_unparsed_is_failed": {"type": "bool", "default": False},
    "host_key_checking": {"type": "bool", "default": True},
    "result_format": {"type": "raw"},
    "allow_sources_without_hosts": {"type": "bool", "default": False},
    "allow_host_key_checking_off": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True  # it only reads what it is given
        result = super().run(tmp, task_vars)
        args = checked_args(ARGUMENT_SPEC, self._task.args)
        verdict = controller_verdict(
            sources=args["inventory_sources"], host_sources=args["host_sources"],
            hosts_required=args["hosts_required"], any_unparsed_is_failed=args["any_unparsed_is_failed"],
            host_key_checking=args["host_key_checking"], result_format=args["result_format"],
            allow_sources_without_hosts=args["allow_sources_without_hosts"],
            allow_host_key_checking_off=args["allow_host_key_checking_off"])
        result.update(changed=False, errors=verdict["errors"], warnings=verdict["warnings"])
        if not verdict["ok"]:
            result.update(failed=True, msg=verdict["msg"])
        return result
