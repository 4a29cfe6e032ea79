# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot role's lvm plan filter: plugins/module_utils/lvm_plan.py for a template.

Private to the role (role-embedded): ``{{ settings | snapshot_lvm_plan }}``
with settings ``{vg, lv, size, run_id, name}``; bad input becomes one
AnsibleFilterError naming the variable.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.patchpilot.fleet.plugins.module_utils.lvm_plan import LvmPlanError, plan


def snapshot_lvm_plan(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"snapshot_lvm_plan expects a dict of settings, got {type(settings).__name__}")
    try:
        return plan(settings.get("vg"), settings.get("lv"), settings.get("size"), settings.get("run_id"),
                    settings.get("name") or "")
    except LvmPlanError as exc:
        raise AnsibleFilterError(f"snapshot_provider lvm: {exc}") from None


class FilterModule:
    def filters(self):
        return {"snapshot_lvm_plan": snapshot_lvm_plan}
