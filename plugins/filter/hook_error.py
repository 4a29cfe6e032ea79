# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hook_error filter: module_utils/hook_error.py for the hooks role (see hook_error.yml)."""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.hook_error import hook_error as _hook_error


def hook_error(result, timeout=30, expected_status=None, secret=False):
    """Why a hook failed, in one line; see hook_error.yml."""
    return _hook_error(result, timeout, expected_status, secret)


class FilterModule:
    """The hook_error filter."""

    def filters(self):
        return {"hook_error": hook_error}
